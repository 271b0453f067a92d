"""storage.checklist."""
