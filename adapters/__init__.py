"""Platform adapters: thin translators between a platform and the neutral engine."""
