"""Charts and exports made at delivery: one renderer per :class:`AttachmentKind`.

A message that carries a chart or an export is queued with an
:class:`~conversations.core.messages.Attachment` (a kind and string arguments),
not with a file: the file is made by the delivery worker, from the stored
snapshot or data, right before the send. A crash or an unwritable folder
between deciding and sending then loses nothing; the row is simply rendered
again on the next attempt. Renderers must therefore be idempotent: the same
arguments make the same file (the same path, overwritten).

The registry lives in ``bot/delivery`` while the renderers live with their
subsystems (results, privacy, checklist): the engine's builder registers them,
so delivery imports none of those subsystems.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from conversations.core.messages import AttachmentKind, Outbound

Renderer = Callable[..., Path]
"""Makes the file from the attachment's arguments, passed as keyword arguments."""


class Slot(enum.StrEnum):
    """Where a rendered file goes on the message: shown inline or attached as a document."""

    IMAGE = "image"
    FILE = "file"


DEFAULT_SLOTS: Mapping[AttachmentKind, Slot] = {
    AttachmentKind.QUICKSCAN_CHART: Slot.IMAGE,
    AttachmentKind.QUICKSCAN_EXPORT: Slot.FILE,
    AttachmentKind.MEMBER_DATA: Slot.FILE,
    AttachmentKind.CHECKLIST_EXPORT: Slot.FILE,
}


class NoRendererError(LookupError):
    """No renderer is registered for an attachment's kind (a wiring mistake).

    The dispatcher retries such a row later rather than dropping it: the fix is
    a deploy, after which the message still goes out.
    """


class AttachmentUnavailableError(RuntimeError):
    """The data to render is gone for good (retention removed the snapshot).

    Renderers raise it so the message is recorded as undeliverable instead of
    being retried forever; any other exception counts as transient.
    """


@dataclass(frozen=True, slots=True)
class _Entry:
    render: Renderer
    slot: Slot


class AttachmentRenderers:
    """The renderer of each attachment kind; registered at start, read by every worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[AttachmentKind, _Entry] = {}

    def register(
        self, *, kind: AttachmentKind, render: Renderer, slot: Slot | None = None
    ) -> None:
        """Make ``render`` produce the files of ``kind``.

        Args:
            kind: The attachment kind.
            render: Called with the attachment's arguments as keyword arguments;
                returns the path of the file it wrote.
            slot: Image (shown inline) or file (a document); by default the
                kind's usual slot (:data:`DEFAULT_SLOTS`).

        Raises:
            ValueError: ``kind`` already has a renderer: two subsystems claiming one
                kind is a wiring mistake that must not pass silently.
        """
        with self._lock:
            if kind in self._entries:
                raise ValueError(f"a renderer for {kind.value} is already registered")
            self._entries[kind] = _Entry(render=render, slot=slot or DEFAULT_SLOTS[kind])

    def render(self, message: Outbound) -> Outbound:
        """The message with its attachment made into ``image`` or ``file``.

        A message without an attachment is returned unchanged.

        Raises:
            NoRendererError: Nothing renders the attachment's kind.
            AttachmentUnavailableError: The renderer says its data is gone.
        """
        attachment = message.attachment
        if attachment is None:
            return message
        with self._lock:
            entry = self._entries.get(attachment.kind)
        if entry is None:
            raise NoRendererError(f"no renderer for {attachment.kind.value}")
        path = entry.render(**dict(attachment.args))
        if entry.slot is Slot.IMAGE:
            return replace(message, image=path)
        return replace(message, file=path)
