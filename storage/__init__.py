"""Storage: SQLModel tables, the engine and its session scope, Alembic migrations, and
slack_sdk's OAuth stores. Imports nothing from `bot`."""
