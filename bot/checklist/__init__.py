"""bot.checklist."""
