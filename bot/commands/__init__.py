"""bot.commands.parse."""
