"""Queueing messages: the engine's side of the outbox.

The engine decides what to say inside the unit of work of the event that
causes it; :meth:`Outbox.enqueue` turns those messages into outbox rows in that
same transaction (the store joins the ambient unit of work), so a message
exists exactly when the state change that caused it was committed. The
platform's dispatcher sends the rows later, in any process.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from bot.delivery.codec import destination_columns, encode_body
from conversations.core.clock import Clock
from conversations.core.messages import Outbound
from storage.delivery.outbox import NewOutboxRow, OutboxStore


def outbox_rows(
    messages: Iterable[Outbound], *, platform: str, workspace: str, origin: Mapping[str, str]
) -> list[NewOutboxRow]:
    """The rows for ``messages``, in order; a message's ``key`` is its row's dedupe key.

    Of two messages with the same key in one batch only the first is kept: the
    store would skip the second anyway, and a batch that names one key twice
    is still one message to the member.
    """
    origin_json = json.dumps(dict(origin), ensure_ascii=False, sort_keys=True)
    rows: list[NewOutboxRow] = []
    seen: set[str] = set()
    for message in messages:
        if message.key is not None:
            if message.key in seen:
                continue
            seen.add(message.key)
        columns = destination_columns(message.destination)
        rows.append(
            NewOutboxRow(
                platform=platform,
                workspace=workspace,
                team=columns.team,
                kind=columns.kind,
                user=columns.user,
                body=encode_body(message),
                origin=origin_json,
                dedupe_key=message.key,
            )
        )
    return rows


class Outbox:
    """Queues messages as rows; nothing here sends."""

    def __init__(self, *, store: OutboxStore, clock: Clock) -> None:
        """Queue into ``store``, stamping rows with ``clock``'s time."""
        self._store = store
        self._clock = clock

    def enqueue(
        self,
        messages: Iterable[Outbound],
        *,
        platform: str,
        workspace: str,
        origin: Mapping[str, str],
    ) -> int:
        """Queue ``messages`` (in the ambient unit of work, if one is open).

        Args:
            messages: What to send, in the order it should arrive per chat.
            platform, workspace: The tenant whose dispatcher sends them.
            origin: The causing event's reply context (``Inbound.origin``), stored
                with every row so the sender can reply or edit in place.

        Returns:
            How many rows were queued: a message whose key was queued before
            (an invitation already sent) is skipped.
        """
        rows = outbox_rows(messages, platform=platform, workspace=workspace, origin=origin)
        if not rows:
            return 0
        return self._store.add(rows=rows, now=self._clock.now())
