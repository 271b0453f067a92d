"""A member opening a round's join link (Telegram's deep link): invited, then greeted.

On Telegram a member must open the bot before it may write to them, so a round's
announcement carries a join link; opening it invites the member to the round and
sends the intro (or, for a member who already began, where they left off).
"""

from __future__ import annotations

from datetime import datetime

from bot.core import input_guard
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound, Sender
from conversations.quickscan.walkthrough import Walkthrough
from storage.quickscan.records import RoundNotOpenError
from storage.quickscan.store import Store


class Joining:
    """Invites the member a join link names; runs inside the engine's unit of work."""

    def __init__(self, *, store: Store, walkthrough: Walkthrough) -> None:
        self._store = store
        self._walkthrough = walkthrough

    def join(
        self,
        *,
        platform: str,
        workspace: str,
        token: str,
        sender: Sender,
        event_id: str | None,
        now: datetime,
    ) -> list[Outbound]:
        """Invite ``sender`` to the round of ``token``; the DM to send them.

        A token of any other form than the bot hands out was typed by hand and is
        answered without a database lookup; a redelivered link (same ``event_id``)
        is ignored. Opening the link proves the member can be reached again, so an
        earlier "unreachable" mark is lifted.
        """
        if not input_guard.usable_token(token):
            return [_dm(team="", user=sender.user, text=Catalogue().t("join.unknown"))]
        if event_id is not None and not self._store.claim_event(
            platform=platform, workspace=workspace, event_id=event_id, now=now
        ):
            return []
        found = self._store.round_by_token(platform=platform, workspace=workspace, token=token)
        if found is None:
            return [_dm(team="", user=sender.user, text=Catalogue().t("join.unknown"))]
        team, round_ = found
        try:
            participation, _new = self._store.invite(
                key=team,
                round_id=round_.id,
                user=sender.user,
                display_name=sender.display_name,
                now=now,
            )
        except RoundNotOpenError:
            return [_dm(team=team.team, user=sender.user, text=Catalogue().t("dm.round_closed"))]
        if participation.unreachable_at is not None:
            self._store.mark_reachable(key=participation.key, round_id=round_.id)
        return [self._walkthrough.prompt_for(participation=participation)]


def _dm(*, team: str, user: str, text: str) -> Outbound:
    return Outbound(destination=Destination.dm(team=team, user=user), text=text)
