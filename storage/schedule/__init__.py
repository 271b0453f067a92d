"""storage.schedule."""
