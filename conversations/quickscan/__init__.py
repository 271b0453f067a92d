"""conversations.quickscan."""
