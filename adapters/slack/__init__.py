"""The Slack adapter: Bolt listeners in, Web API calls out, the engine in between.

Slack events (slash commands, button clicks, modal submissions, typed DMs) are
translated into neutral ``Inbound`` events; the engine's ``Outbound`` messages
are rendered as Block Kit and delivered with the Web API. Nothing here decides
anything about a round: that stays in the engine.
"""
