"""An outbound message as an outbox row: its destination in columns, the rest as JSON.

The destination is stored in the row's own columns (team, kind, user) because the
store needs them to derive the row's lane and to move a migrated chat's rows; the
body holds everything else. Decoding takes the destination from the columns, so
a row retargeted to a new chat id is sent there without touching its body.

The body names every field explicitly and carries a version, so a process of the
next release can still read what this one queued (rows outlive a deploy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from conversations.core.messages import (
    Attachment,
    AttachmentKind,
    Button,
    Destination,
    DestinationKind,
    Outbound,
)

BODY_VERSION = 1

_T = TypeVar("_T")


class UndecodableBodyError(ValueError):
    """A stored body is not a message this code can read (a newer version, damage)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DestinationColumns:
    """Where a message goes, as the outbox stores it."""

    team: str
    kind: str
    user: str | None


def destination_columns(destination: Destination) -> DestinationColumns:
    """The row columns of a destination."""
    return DestinationColumns(
        team=destination.team, kind=destination.kind.value, user=destination.user
    )


def encode_body(message: Outbound) -> str:
    """The message without its destination, as JSON (deterministic: sorted keys)."""
    body: dict[str, Any] = {"v": BODY_VERSION, "text": message.text}
    if message.buttons:
        body["buttons"] = [[button.label, button.payload] for button in message.buttons]
    if message.replace_previous:
        body["replace_previous"] = True
    if message.details is not None:
        body["details"] = message.details
    if message.attachment is not None:
        body["attachment"] = {
            "kind": message.attachment.kind.value,
            "args": [[name, value] for name, value in message.attachment.args],
        }
    # A ready-made file is kept by path: only messages made before attachments were
    # rendered at delivery carry one, and the path is valid on this machine only.
    if message.image is not None:
        body["image"] = str(message.image)
    if message.file is not None:
        body["file"] = str(message.file)
    if message.key is not None:
        body["key"] = message.key
    if message.join_token is not None:
        body["join_token"] = message.join_token
    if message.free_text:
        body["free_text"] = True
    if message.columns is not None:
        body["columns"] = message.columns
    # Stored so a restart between queueing and sending keeps the pin; absent (rows
    # queued before pinning existed) reads as not pinned, so the version stays 1.
    if message.pin:
        body["pin"] = True
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def decode_body(body: str, *, team: str, kind: str, user: str | None) -> Outbound:
    """The message a row holds, sent to the destination its columns name.

    Raises:
        UndecodableBodyError: The body is not JSON of a known version, or a field
            has the wrong shape; the error text names the problem, never the content.
    """
    try:
        data = json.loads(body)
    except json.JSONDecodeError as error:
        raise UndecodableBodyError("body is not JSON") from error
    if not isinstance(data, dict):
        raise UndecodableBodyError("body is not an object")
    if data.get("v") != BODY_VERSION:
        raise UndecodableBodyError("unknown body version")
    try:
        destination = Destination(kind=DestinationKind(kind), team=team, user=user)
        return Outbound(
            destination=destination,
            text=_typed(data, "text", str, ""),
            buttons=tuple(
                Button(label=str(label), payload=str(payload))
                for label, payload in _typed(data, "buttons", list, [])
            ),
            replace_previous=_typed(data, "replace_previous", bool, False),
            details=_optional(data, "details", str),
            attachment=_attachment(data.get("attachment")),
            image=_path(data, "image"),
            file=_path(data, "file"),
            key=_optional(data, "key", str),
            join_token=_optional(data, "join_token", str),
            free_text=_typed(data, "free_text", bool, False),
            columns=_optional(data, "columns", int),
            pin=_typed(data, "pin", bool, False),
        )
    except UndecodableBodyError:
        raise
    except (TypeError, ValueError) as error:
        # The original text may quote a value (a button label): name the type only.
        raise UndecodableBodyError(f"malformed body field ({type(error).__name__})") from None


def decode_origin(origin: str) -> dict[str, str]:
    """A row's origin (the causing event's reply context) as a mapping of strings.

    Raises:
        UndecodableBodyError: It is not a JSON object of strings.
    """
    try:
        data = json.loads(origin)
    except json.JSONDecodeError as error:
        raise UndecodableBodyError("origin is not JSON") from error
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UndecodableBodyError("origin is not an object of strings")
    return {str(name): value for name, value in data.items()}


def _typed(data: Mapping[str, Any], name: str, kind: type[_T], default: _T) -> _T:
    value = data.get(name, default)
    if not isinstance(value, kind):
        raise UndecodableBodyError(f"field {name} has the wrong type")
    return value


def _optional(data: Mapping[str, Any], name: str, kind: type[_T]) -> _T | None:
    value = data.get(name)
    if value is None:
        return None
    # JSON true is a Python int too: a number field must not accept it.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise UndecodableBodyError(f"field {name} has the wrong type")
    return value


def _path(data: Mapping[str, Any], name: str) -> Path | None:
    value = _optional(data, name, str)
    return None if value is None else Path(value)


def _attachment(value: object) -> Attachment | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UndecodableBodyError("field attachment has the wrong type")
    args = _typed(value, "args", list, [])
    return Attachment(
        kind=AttachmentKind(_typed(value, "kind", str, "")),
        args=tuple((str(name), str(arg)) for name, arg in args),
    )
