"""What the bot tells a coordinator when one of its messages will never arrive.

The dispatcher records a permanent failure (blocked, not in the channel, user
gone) and the engine asks here what to say about it. Every notice carries a
dedupe key, so however many messages fail the same way (a whole fan-out to a
channel the bot was removed from), the coordinator hears it once.
"""

from __future__ import annotations

from datetime import datetime

from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, DestinationKind, Outbound
from storage.keys import TeamKey
from storage.quickscan.store import Store


class Notices:
    """Decides who hears about an undeliverable message, and what."""

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def undeliverable(
        self, *, key: TeamKey, kind: str, user: str | None, reason: str, now: datetime
    ) -> list[Outbound]:
        """The notices for one permanent failure (none when nobody needs to know).

        An ephemeral reply that failed was only for its sender, who acted and
        can act again: nobody else is told.
        """
        if kind == DestinationKind.DM.value and user:
            return self._member_unreachable(key=key, user=user, now=now)
        if kind == DestinationKind.TEAM.value:
            return self._channel_unreachable(key=key, reason=reason)
        return []

    def _member_unreachable(self, *, key: TeamKey, user: str, now: datetime) -> list[Outbound]:
        """Mark the member unreachable for the open round; tell its opener once.

        Nothing about answers is revealed, only that the member could not be
        reached; ``/quickscan status`` lists them for the coordinator.
        """
        round_ = self._store.current_round(key=key)
        if round_ is None:
            return []
        member = key.member(user)
        newly = self._store.mark_unreachable(key=member, round_id=round_.id, now=now)
        participation = self._store.participation(key=member, round_id=round_.id)
        if not newly or participation is None or user == round_.opened_by:
            return []
        text = self._texts(key).t("dm.unreachable", name=participation.display_name)
        return [
            Outbound(
                destination=Destination.dm(team=key.team, user=round_.opened_by),
                text=text,
                key=f"unreachable:{round_.id}:{user}",
            )
        ]

    def _channel_unreachable(self, *, key: TeamKey, reason: str) -> list[Outbound]:
        """Tell the coordinators, by DM, that the channel cannot be posted to, and the fix.

        The open round's opener hears it (once per round); without an open round,
        every named coordinator (once per reason). Where nobody is named (the
        group's admins manage it), there is nobody to write to: the log says it.
        """
        round_ = self._store.current_round(key=key)
        if round_ is not None:
            recipients, scope = [round_.opened_by], f"round{round_.id}"
        else:
            recipients, scope = self._store.coordinators(key=key), "team"
        text = self._texts(key).t("engine.channel_unreachable", reason=reason)
        return [
            Outbound(
                destination=Destination.dm(team=key.team, user=recipient),
                text=text,
                key=f"channel-unreachable:{key.team}:{scope}:{reason}:{recipient}",
            )
            for recipient in recipients
        ]

    def _texts(self, key: TeamKey) -> Catalogue:
        team = self._store.get_team(key=key)
        return Catalogue(team.locale if team is not None else "nl")
