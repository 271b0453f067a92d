"""bot.calendar.school_calendar."""
