"""The team's plans and their support votes (storage side)."""
