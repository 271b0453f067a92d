"""The Slack adapter: Bolt listeners in, the outbox and the Web API out, the engine in between.

Slack events (slash commands, button clicks, modal submissions, typed DMs) are
translated into neutral ``Inbound`` events and handled by the engine before Slack
is acknowledged (``app.py``); every reply is an outbox row by then. The engine's
dispatcher sends the rows with :class:`~adapters.slack.sender.SlackSender`, which
renders Block Kit and calls the Web API without ever sleeping (``rates.py`` names
the rate-limit buckets, ``outcomes.py`` what a failure means). Nothing here
decides anything about a round: that stays in the engine.
"""
