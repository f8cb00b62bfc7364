"""Durable delivery of Channel API requests: the outbox, its flusher and failure alerts."""
