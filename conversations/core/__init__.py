"""conversations.core."""
