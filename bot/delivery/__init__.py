"""Delivery: the outbox's messages sent by per-platform workers, paced by token buckets."""
