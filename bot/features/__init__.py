"""One package per feature, each with its listeners, forms, views and service side by side.

A feature exposes `register(app)` (its Slack listeners) and `register_hooks(hooks)` (what
it does when a delivery to Front ends); `bot/server.py` calls both for every feature.
Features build on `bot.slack`, `bot.core`, `bot.delivery`, `bot.front` and `storage`.
"""
