"""The reply context of an update, stored with every message it causes.

The engine queues its replies as outbox rows, and a delivery worker sends them
later, maybe in another process after a restart. What the worker needs of the
update to answer in the right place travels with the row as a small mapping of
strings (``Inbound.origin``): the chat, the command message to reply to when a
private reply must fall back to the group, and the private message whose button
was pressed, which the next prompt replaces in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_CHAT, _MESSAGE, _EDIT, _PRESSER, _UPDATE = "chat", "message", "edit", "presser", "update"


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Where an update came from.

    Attributes:
        chat_id: The chat the update came from (a group or a private chat).
        message_id: The message to reply to when a private reply must fall back
            to the group (the command message), or the pressed message.
        edit_message_id: The private message whose button was pressed: the next
            prompt replaces it in place.
        presser: The user who pressed a button (the press was answered with a
            notice already, see ``adapters.telegram.handlers``); None otherwise.
        update_id: The update, so two updates about one message are told apart.
    """

    chat_id: int | None = None
    message_id: int | None = None
    edit_message_id: int | None = None
    presser: str | None = None
    update_id: int | None = None

    def as_mapping(self) -> dict[str, str]:
        """The strings stored with the outbox rows (absent fields left out)."""
        fields = {
            _CHAT: self.chat_id,
            _MESSAGE: self.message_id,
            _EDIT: self.edit_message_id,
            _PRESSER: self.presser,
            _UPDATE: self.update_id,
        }
        return {name: str(value) for name, value in fields.items() if value is not None}

    @classmethod
    def from_mapping(cls, stored: Mapping[str, str]) -> Origin:
        """Read a stored origin back; a value that is no Telegram id is ignored.

        Rows outlive a deploy and the mapping is the adapter's own, but it is read
        as untrusted all the same: a damaged value loses the reply context (a
        new message instead of an edit), never the message.
        """
        presser = stored.get(_PRESSER)
        return cls(
            chat_id=chat_id_of(stored.get(_CHAT)),
            message_id=chat_id_of(stored.get(_MESSAGE)),
            edit_message_id=chat_id_of(stored.get(_EDIT)),
            presser=presser if chat_id_of(presser) is not None else None,
            update_id=chat_id_of(stored.get(_UPDATE)),
        )


def chat_id_of(value: str | None) -> int | None:
    """A Telegram id from our string ids; None for anything that is not one.

    ASCII digits only, with an optional leading minus (``int()`` would also take
    "٣", "+3" or " 3").
    """
    digits = (value or "").removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        return None
    return int(value or "")
