"""What every feature shares, with no Slack or HTTP types: errors a person can act on,
the unit of work, channel links, phone numbers and Slack's mrkdwn.

Imports only `bot.config`, `bot.runtime` and `storage`; never `bot.slack`,
`bot.features` or `bot.delivery`.
"""
