"""conversations.checklist."""
