"""The team's members, asked of the platform before a unit of work that needs them.

Listing a channel's members is a platform call (Slack ``conversations.members``);
made inside the transaction it would hold the team's lock (on SQLite the only write
lock) while waiting on the network. So the events and pings that invite people
(``/quickscan start``, the plan's support question and owner, the plan's next
round) ask first, through :class:`~bot.core.prefetch.PrefetchingRoster`, and the
unit of work reads the answer.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, ExitStack, nullcontext

from bot.commands.parse import Sub, parse_command
from bot.commands.plan import needs_roster
from bot.core.ports import RosterUnavailableError
from bot.core.prefetch import PrefetchingRoster
from bot.plans.followup import NEXT_ROUND
from conversations.core.messages import Inbound, Where
from storage.keys import TeamKey
from storage.schedule.store import Ping

_LOG = logging.getLogger(__name__)


def members_first(
    roster: PrefetchingRoster, event: Inbound, key: TeamKey
) -> AbstractContextManager[None]:
    """For a team command that invites or names members: the roster, asked first."""
    if event.where is not Where.TEAM:
        return nullcontext()
    command = parse_command(event.text)
    if command.sub is Sub.START or needs_roster(command):
        return roster.prefetched(team=key)
    return nullcontext()


def members_first_for_ping(
    roster: PrefetchingRoster, ping: Ping
) -> AbstractContextManager[object]:
    """For the plan's next-round ping, which opens a round: the roster, asked first.

    A platform that will not list the channel is no reason to skip the round: the
    last round's participants are invited then (``PlanService.members``). The roster
    is asked here, when called; the returned context releases it on exit.
    """
    stack = ExitStack()
    if ping.kind == NEXT_ROUND:
        try:
            stack.enter_context(roster.prefetched(team=ping.team))
        except RosterUnavailableError:
            _LOG.warning("the next round's ping found no roster of the team")
    return stack
