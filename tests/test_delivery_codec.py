"""Messages survive the outbox: every field comes back, the destination from the row's columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.delivery.codec import (
    UndecodableBodyError,
    decode_body,
    decode_origin,
    destination_columns,
    encode_body,
)
from bot.delivery.outbox import outbox_rows
from conversations.core.messages import (
    Attachment,
    AttachmentKind,
    Button,
    Destination,
    Outbound,
)

FULL = Outbound(
    destination=Destination.dm(team="C-groep-3", user="U-ida"),
    text="Vraag 3 van 48: *samen*",
    buttons=(Button(label="++", payload="a:3:++"), Button(label="?", payload="a:3:?")),
    replace_previous=True,
    details="Toelichting",
    attachment=Attachment(
        kind=AttachmentKind.QUICKSCAN_CHART, args=(("round_id", "7"), ("per_item", "yes"))
    ),
    key="invite:7:U-ida",
    join_token="join-7",  # noqa: S106 - an opaque link token, not a secret
    free_text=True,
    columns=4,
)


def _round_trip(message: Outbound) -> Outbound:
    columns = destination_columns(message.destination)
    return decode_body(
        encode_body(message), team=columns.team, kind=columns.kind, user=columns.user
    )


@pytest.mark.parametrize(
    "message",
    [
        FULL,
        Outbound(destination=Destination.team_channel(team="C-groep-3"), text="Ronde geopend"),
        Outbound(destination=Destination.ephemeral(team="C-1", user="U-bas"), text=""),
        Outbound(
            destination=Destination.dm(team="", user="U-x"),
            text="oud bestand",
            image=Path("uitvoer/chart.png"),
            file=Path("uitvoer/export.xlsx"),
        ),
    ],
    ids=["every-field", "team", "ephemeral", "ready-made-files"],
)
def test_a_message_comes_back_unchanged(message: Outbound) -> None:
    assert _round_trip(message) == message


def test_the_destination_comes_from_the_columns_not_the_body() -> None:
    body = encode_body(FULL)

    moved = decode_body(body, team="C-new", kind="dm", user="U-ida")

    assert moved.destination == Destination.dm(team="C-new", user="U-ida")
    assert "C-groep-3" not in body
    assert "U-ida" not in json.loads(body).get("text", "")


def test_the_body_is_deterministic_and_versioned() -> None:
    assert encode_body(FULL) == encode_body(FULL)
    assert json.loads(encode_body(FULL))["v"] == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"v": 99, "text": "x"}',
        '{"v": 1, "text": 3}',
        '{"v": 1, "text": "x", "buttons": [["only-a-label"]]}',
        '{"v": 1, "text": "x", "columns": true}',
        '{"v": 1, "text": "x", "attachment": {"kind": "no.such.kind"}}',
        '{"v": 1, "text": "x", "buttons": [["ok", "' + "p" * 200 + '"]]}',
    ],
    ids=[
        "not-json",
        "not-object",
        "newer",
        "text-type",
        "button-shape",
        "bool-as-int",
        "kind",
        "payload-too-long",
    ],
)
def test_an_unreadable_body_raises_one_error_type(body: str) -> None:
    with pytest.raises(UndecodableBodyError):
        decode_body(body, team="C-1", kind="team", user=None)


def test_an_unknown_destination_kind_is_unreadable() -> None:
    with pytest.raises(UndecodableBodyError):
        decode_body(encode_body(FULL), team="C-1", kind="carrier-pigeon", user=None)


def test_origin_round_trip_and_rejection() -> None:
    assert decode_origin('{"ts": "1.2", "response_url": "https://x"}') == {
        "ts": "1.2",
        "response_url": "https://x",
    }
    for bad in ("nope", "[1]", '{"ts": 1}'):
        with pytest.raises(UndecodableBodyError):
            decode_origin(bad)


def test_outbox_rows_carry_columns_origin_and_dedupe_key() -> None:
    team = Outbound(destination=Destination.team_channel(team="C-1"), text="Ronde geopend")
    duplicate = Outbound(
        destination=Destination.dm(team="C-1", user="U-ida"), text="weer", key=FULL.key
    )

    rows = outbox_rows(
        [FULL, team, duplicate], platform="slack", workspace="T-1", origin={"ts": "1.5"}
    )

    assert [(row.team, row.kind, row.user, row.dedupe_key) for row in rows] == [
        ("C-groep-3", "dm", "U-ida", "invite:7:U-ida"),
        ("C-1", "team", None, None),
    ]
    assert {row.platform for row in rows} == {"slack"}
    assert {row.workspace for row in rows} == {"T-1"}
    assert {row.origin for row in rows} == {'{"ts": "1.5"}'}
    assert decode_body(rows[0].body, team="C-groep-3", kind="dm", user="U-ida") == FULL
