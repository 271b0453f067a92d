"""bot.commands.privacy."""
