"""Pupil labels never leave the teacher's own DM: not the channel, not the log, not errors.

A whole school year of the checklist (class registration with mistakes, both rounds,
buttons, forged presses, export, removal, erasure) runs through the engine with every
logger at DEBUG, SQLAlchemy's statement and row logging included. Then every message,
button payload, file name and log record is searched for every label.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.engine import Engine
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store
from tests.conftest import FakeClock

TEAM = TeamKey(platform="console", workspace="w1", team="t1")
TEACHERS = ("anna", "bram", "chris", "dewi", "eva", "fatima")
# Distinctive labels, so a hit is never a coincidence; one is a full name (refused, and
# never echoed either).
CLASSES = {name: [f"Qx{n}{name[:2].upper()}" for n in range(1, 4)] for name in TEACHERS}
CLASSES["anna"].append("Jan Qxvries")
ALL_LABELS = {label for labels in CLASSES.values() for label in labels}


class Roster:
    def members(self, *, team: TeamKey) -> list[Sender]:
        return []


@pytest.fixture
def engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    store = Store.open(url=database_url)
    yield Engine(
        store=store,
        instruments=load_instruments(),
        roster=Roster(),
        clock=FakeClock(start=datetime(2026, 9, 28, 6, 0, tzinfo=UTC)),
        output_dir=tmp_path / "output",
    )
    store.close()


def _texts(message: Outbound) -> list[str]:
    """Everything of a message an adapter could show or send anywhere."""
    parts = [message.text, message.details or ""]
    parts += [b.label for b in message.buttons] + [b.payload for b in message.buttons]
    parts += [str(message.file or ""), str(message.image or ""), message.join_token or ""]
    if message.attachment is not None:  # stored with the queued message until delivery
        parts += [value for _name, value in message.attachment.args]
    return parts


def test_pupil_labels_stay_in_the_owners_dm(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    outbound: list[Outbound] = []

    def say(user: str, text: str = "", *, team: bool = False, payload: str | None = None) -> None:
        event = Inbound(
            platform=TEAM.platform,
            workspace=TEAM.workspace,
            team=TEAM.team,
            where=Where.TEAM if team else Where.DM,
            sender=Sender(user=user, display_name=user.title()),
            text=text,
            payload=payload,
        )
        outbound.extend(engine.handle(event))

    def last_to(user: str) -> Outbound:
        return next(m for m in reversed(outbound) if m.destination.user == user)

    caplog.set_level(logging.DEBUG)
    sql_logger = logging.getLogger("sqlalchemy.engine")
    sql_logger.setLevel(logging.DEBUG)
    try:
        for name, labels in CLASSES.items():
            say(name, "/quickscan checklist", team=True)
            say(name, "/checklist klas\n" + "\n".join(labels))
            say(name, labels[0])  # a duplicate
            say(name, labels[1].lower() + "\n" + "Qx" + "z" * 50)  # duplicate and too long
            say(name, "klaar")
        say("anna", "/checklist verwijder Qx9ON")
        say("anna", "/checklist verwijder Jan Qxvries")
        for number in (1, 2):
            say("anna", f"/quickscan checklist start {number}", team=True)
            say("bram", "/quickscan checklist status", team=True)
            for name in TEACHERS:
                say(name, "/checklist invullen")
                if name == "chris":  # buttons, and a forged press by a colleague
                    say("dewi", payload=outbound[-1].buttons[2].payload)
                    for index in range(6):
                        prompt = last_to("chris")
                        say(name, payload=prompt.buttons[index * 4 + number].payload)
                    (step,) = [b for b in last_to("chris").buttons if "verbeterstap" in b.label]
                    say(name, payload=step.payload)
                    say(name, "huisbezoek plannen")
                for _ in CLASSES[name]:
                    say(name, "2 2 3 3 2 2" if number == 1 else "3 3 3 4 2 2 bel oma")
            engine.checklist.remind(team=TEAM, now=datetime(2027, 1, 20, 7, tzinfo=UTC))
            say("anna", "/quickscan checklist sluit", team=True)
        say("bram", "/checklist export")
        say("eva", "/checklist leerlingen")
        say("fatima", "/checklist wis")
        say("fatima", payload=outbound[-1].buttons[0].payload)
    finally:
        sql_logger.setLevel(logging.NOTSET)

    # The run did what it should: figures in the channel, labels in the owners' DMs.
    channel = [m for m in outbound if m.destination.kind is DestinationKind.TEAM]
    assert any("procentpunt sinds ronde 1" in m.text for m in channel)
    assert any("Qx1AN" in m.text for m in outbound if m.destination.user == "anna")
    assert any(
        m.details and "Qx1BR" in m.details for m in outbound if m.destination.user == "bram"
    )

    to_chris = "\n".join(m.text for m in outbound if m.destination.user == "chris")
    assert "Verbeterstap voor Qx1CH opgeslagen" in to_chris
    assert any("niet (meer) geldig" in m.text for m in outbound if m.destination.user == "dewi")
    assert any("gewist (3 leerlingen" in m.text for m in outbound)

    for message in outbound:
        shown = "\n".join(_texts(message))
        if message.destination.kind is DestinationKind.DM:
            allowed = set(CLASSES[message.destination.user or ""])
            leaked = {label for label in ALL_LABELS - allowed if label in shown}
            assert not leaked, (message.destination, leaked)
        else:
            leaked = {label for label in ALL_LABELS if label in shown}
            assert not leaked, (message.destination, leaked)
        for button in message.buttons:
            assert not any(label in button.payload for label in ALL_LABELS)
    assert any(r.name.startswith("storage.checklist.store") for r in caplog.records)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    for record in caplog.records:
        logged = record.getMessage() + (record.exc_text or "") + repr(record.args)
        found = {label for label in ALL_LABELS if label in logged or label.lower() in logged}
        assert not found, (record.name, found)
    assert "Qx" not in caplog.text
