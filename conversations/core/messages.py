"""Neutral inbound events and outbound messages: the only language adapters speak.

Adapters translate platform updates into these frozen dataclasses and render the
outbound ones with platform calls; the engine never sees a platform object.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conversations.core.limits import BUTTON_LABEL_MAX_CHARS, check_payload


class Where(enum.StrEnum):
    """Where an inbound event was said."""

    TEAM = "team"  # the team channel / group
    DM = "dm"  # the member's private conversation with the bot


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent an event, as the platform authenticated them."""

    user: str
    display_name: str


@dataclass(frozen=True, slots=True)
class Inbound:
    """Something a person said or pressed.

    Attributes:
        platform: "console", "slack" or "telegram".
        workspace: The tenant on that platform.
        team: The team channel id. For a DM the adapter passes the team it knows
            (console, Telegram deep link) or "" when unknown.
        where: Team channel or DM.
        sender: The person.
        text: The text typed (a slash command without its leading "/quickscan"
            is still passed whole, e.g. "/quickscan start").
        payload: The button payload when a button was pressed, else None.
        event_id: The platform's delivery id, used to ignore redeliveries.
        sender_is_admin: The platform says the sender administers the team
            channel (Telegram group admins); such members count as coordinators.
        admins_known: The platform told who the channel's admins are, so "whoever
            sets the bot up first becomes coordinator" does not apply to others.
        origin: The adapter's own reply context (a Slack message ts and response
            URL, a Telegram message id), strings only. It is stored with every
            message the event causes, so the delivery worker can reply or edit in
            place later, in any process; the engine never reads it.
    """

    platform: str
    workspace: str
    team: str
    where: Where
    sender: Sender
    text: str = ""
    payload: str | None = None
    event_id: str | None = None
    sender_is_admin: bool = False
    admins_known: bool = False
    origin: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Button:
    """A choice button; ``payload`` is checked against the platform limit."""

    label: str
    payload: str

    def __post_init__(self) -> None:
        check_payload(self.payload)
        if len(self.label) > BUTTON_LABEL_MAX_CHARS:
            raise ValueError(f"button label longer than {BUTTON_LABEL_MAX_CHARS}: {self.label!r}")


class DestinationKind(enum.StrEnum):
    """Where an outbound message goes."""

    TEAM = "team"
    DM = "dm"
    EPHEMERAL = "ephemeral"  # only the sender sees it, in the team channel


@dataclass(frozen=True, slots=True)
class Destination:
    """The team channel, one member's DM, or a reply only the sender sees."""

    kind: DestinationKind
    team: str
    user: str | None = None

    @classmethod
    def team_channel(cls, *, team: str) -> Destination:
        """The team channel: only aggregates ever go here."""
        return cls(kind=DestinationKind.TEAM, team=team)

    @classmethod
    def dm(cls, *, team: str, user: str) -> Destination:
        """A member's private conversation."""
        return cls(kind=DestinationKind.DM, team=team, user=user)

    @classmethod
    def ephemeral(cls, *, team: str, user: str) -> Destination:
        """A reply in the channel that only ``user`` sees (errors, help)."""
        return cls(kind=DestinationKind.EPHEMERAL, team=team, user=user)


class AttachmentKind(enum.StrEnum):
    """The files the bot makes; each kind has one renderer (``bot/delivery``)."""

    QUICKSCAN_CHART = "quickscan.chart"
    QUICKSCAN_EXPORT = "quickscan.export"
    MEMBER_DATA = "privacy.member_data"
    CHECKLIST_EXPORT = "checklist.export"


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A file made at delivery from stored data, not when the message is decided.

    A message is an outbox row first; a chart or an export is rendered by the
    delivery worker from the stored snapshot (idempotently: the same row renders
    the same file), so a crash or an unwritable folder between deciding and
    sending loses nothing. ``args`` are the renderer's keyword arguments.
    """

    kind: AttachmentKind
    args: tuple[tuple[str, str], ...] = ()

    def arg(self, name: str) -> str:
        """One argument by name (KeyError when absent: a renderer's own bug)."""
        return dict(self.args)[name]


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message for an adapter to deliver.

    Attributes:
        destination: Where it goes.
        text: Plain text with simple ``*bold*`` markup.
        buttons: Choice buttons, rendered in rows by the adapter.
        image: A PNG to attach (set by the delivery when it renders ``attachment``).
        replace_previous: Hint that this prompt replaces the previous prompt in the
            same DM (Slack chat.update, Telegram editMessageText); adapters that
            cannot edit simply send a new message.
        details: Follow-up text for a thread or a second message (long tables).
        file: A document to attach (set by the delivery when it renders ``attachment``).
        join_token: On a round's announcement: the opaque token of the join link
            (Telegram deep link), for adapters whose members must opt in.
        free_text: The prompt accepts typed text (an open question), so an adapter
            may offer a text field (Slack modal) besides the buttons.
        columns: Buttons per row, where the grouping carries meaning (the checklist's
            four scores per statement); None leaves the layout to the adapter.
        attachment: A chart or export to render at delivery (see :class:`Attachment`).
        key: A stable de-duplication key (an invitation: the round and the member);
            a second message with the same key is never queued.
        pin: Pin the post in the team channel after sending (the team's agreed
            plan), so it stays findable above the chat; adapters that cannot pin
            mark it visibly instead. Only meaningful for team-channel posts; a
            failed pin never loses or resends the post itself.
    """

    destination: Destination
    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    image: Path | None = None
    replace_previous: bool = False
    details: str | None = None
    file: Path | None = None
    attachment: Attachment | None = None
    key: str | None = None
    join_token: str | None = None
    free_text: bool = False
    columns: int | None = None
    pin: bool = False
