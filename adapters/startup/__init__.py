"""adapters.startup."""
