"""storage.privacy."""
