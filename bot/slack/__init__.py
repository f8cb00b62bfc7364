"""Slack plumbing every feature shares: the Bolt app and its middleware, the error handler,
OAuth, permissions, files, lookups (users, names, emails, permalinks, one cache), forms
(reading a modal, acking once) and places (where a request came from).

Knows no feature: imports `bot.core`, `bot.runtime`, `bot.config`, `bot.delivery` (files
to send) and `storage`, never `bot.features`.
"""
