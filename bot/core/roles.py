"""Who manages a team: the coordinators, and how the first one comes to be.

On Telegram the group's admins manage the team (the adapter says so on every
event). Slack and the console name no admins, so there the first person to start
a round becomes the first coordinator: not whoever happened to type ``help`` or
``status`` first, which is how a curious colleague used to end up in charge.
"""

from __future__ import annotations

from datetime import datetime

from bot.commands.parse import parse_command, starts_a_round
from conversations.core.messages import Inbound
from storage.keys import TeamKey
from storage.quickscan.records import Team
from storage.quickscan.store import Store


def ensure_team_for(*, store: Store, event: Inbound, now: datetime) -> Team:
    """The event's team, created on first contact; a round's first starter founds it.

    A team first met through ``help`` has no coordinator yet; the first person to
    start a round there (where no admins are named) becomes its coordinator. The
    engine handles a team's events one at a time, in every process (each in a
    transaction holding the team's lock: ``BEGIN IMMEDIATE`` on SQLite, an advisory
    lock on PostgreSQL), so "no coordinator yet" cannot change between the check
    and the insert, and a failed start rolls the founding back with it.
    """
    key = TeamKey(platform=event.platform, workspace=event.workspace, team=event.team)
    founder = founder_of(event)
    team, created = store.ensure_team(key=key, founder=founder, now=now)
    if (
        founder is not None
        and not created
        and not event.admins_known
        and not store.coordinators(key=key)
    ):
        store.add_coordinator(key=key, user=founder, added_by=founder, now=now)
    return team


def founder_of(event: Inbound) -> str | None:
    """Who becomes a new team's first coordinator: whoever first starts a round.

    Typing ``help`` or ``status`` first must not make anyone coordinator. Where the
    platform names the channel's admins (Telegram), only an admin can found a team.
    """
    if event.admins_known and not event.sender_is_admin:
        return None
    return event.sender.user if starts_a_round(parse_command(event.text)) else None
