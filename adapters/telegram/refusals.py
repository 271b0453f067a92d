"""Which engine replies to a button press are shown as the press's notice instead of a message.

A press the engine refuses ("this button is no longer valid", "that belongs to an
earlier message") changes nothing; Telegram shows such a short answer as a
notice on the button (answerCallbackQuery) rather than as a chat message. The
engine queues the refusal like any reply, so the handler that answers the press
and the sender that would deliver the queued copy must agree on what a refusal
is: both ask :class:`Refusals`, and the sender skips the copy the notice showed.
"""

from __future__ import annotations

from collections.abc import Sequence

from conversations.core.i18n import Catalogue, available_locales
from conversations.core.messages import DestinationKind, Outbound

# Engine replies that mean "refused, nothing changed".
REFUSAL_KEYS = (
    "dm.invalid_button",
    "dm.stale",
    "dm.round_closed",
    "dm.bad_grade",
    "dm.no_such_question",
)


class Refusals:
    """The refusal texts in every language the catalogue has."""

    def __init__(self) -> None:
        self._texts = frozenset(
            Catalogue(locale).t(key) for locale in available_locales() for key in REFUSAL_KEYS
        )

    def is_notice(self, message: Outbound, *, presser: str | None) -> bool:
        """Whether ``message`` is a refusal of ``presser``'s press (shown as its notice)."""
        return (
            presser is not None
            and message.destination.kind is not DestinationKind.TEAM
            and message.destination.user == presser
            and not message.buttons
            and message.text in self._texts
        )

    def notice(self, messages: Sequence[Outbound], *, presser: str) -> str | None:
        """The text of the first refusal among ``messages``, for the press's notice."""
        return next(
            (m.text for m in messages if self.is_notice(m, presser=presser)),
            None,
        )
