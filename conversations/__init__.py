"""Conversation content: the instruments (quickscan, checklist) the bot walks people through."""
