"""bot.results.service."""
