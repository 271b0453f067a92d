"""storage.quickscan."""
