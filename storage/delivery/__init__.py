"""The durable outbox of messages to send."""
