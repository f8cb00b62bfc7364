"""Durable delivery of Channel API requests: the outbox, claims and leases, the flusher,
outcomes and pacing, failure alerts as data, the scheduler and `switchboard outbox`.

Imports nothing from `bot.slack` or `bot.features`: what Slack shows of a delivery's end
(cards, reactions, alerts) is registered on `DeliveryHooks` by the features.
"""
