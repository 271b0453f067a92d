"""Encryption at rest of open answers, with a real key, and key rotation.

The stored bytes of an open answer are not its text; reading back gives the
text; ``rotate_keys`` (and ``quickscan sleutel-roteren``) re-seals everything
with the newest key so the old one can be dropped.
"""

from __future__ import annotations

import io
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.console import ConsoleAdapter, ConsoleRoster
from adapters.startup import cli
from storage.crypto import SEALED_PREFIX, EncryptionKeyError, FieldCipher, generate_key
from storage.keys import TeamKey
from storage.models.quickscan import AnswerRow
from storage.quickscan.records import ParticipationState
from storage.quickscan.store import Store
from tests.console_harness import QUESTIONS

TEAM = TeamKey(platform="console", workspace="school", team="groep-3")
OPEN_TEXT = "De ouders van groep 3 voelen zich niet welkom"
NOW = datetime(2027, 1, 4, 9, tzinfo=UTC)


def _answer(store: Store, *, user: str, text: str) -> int:
    store.ensure_team(key=TEAM, founder="anna", now=NOW)
    round_ = store.current_round(key=TEAM) or store.open_round(
        key=TEAM, instrument_id="quickscan-po", opened_by="anna", deadline=None, now=NOW
    )
    participation, _ = store.invite(
        key=TEAM, round_id=round_.id, user=user, display_name=user, now=NOW
    )
    store.save_progress(
        participation_id=participation.id,
        state=ParticipationState.SUBMITTED,
        position=0,
        now=NOW,
        answers={"q1": "+", "grade:1": "7", "open:1": text},
        mark_submitted=True,
    )
    return round_.id


def _stored(store: Store) -> dict[str, list[str]]:
    with store.engine.connect() as connection:
        rows = connection.execute(select(AnswerRow.item_id, AnswerRow.value)).all()
    stored: dict[str, list[str]] = {}
    for item_id, value in rows:
        stored.setdefault(item_id, []).append(value)
    return stored


def test_open_answers_are_sealed_at_rest_and_read_back(database_url: str) -> None:
    cipher = FieldCipher(keys=[generate_key()])
    with Store.open(url=database_url, cipher=cipher) as store:
        round_id = _answer(store, user="bram", text=OPEN_TEXT)

        stored = _stored(store)
        assert stored["q1"] == ["+"]  # scale values and grades stay plain: they name nobody
        assert stored["grade:1"] == ["7"]
        (sealed,) = stored["open:1"]
        assert sealed.startswith(SEALED_PREFIX)
        assert OPEN_TEXT not in sealed
        assert store.submitted_answers(key=TEAM, round_id=round_id) == [
            {"grade:1": "7", "open:1": OPEN_TEXT, "q1": "+"}
        ]

    with Store.open(url=database_url) as keyless, pytest.raises(EncryptionKeyError):
        keyless.submitted_answers(key=TEAM, round_id=round_id)


def test_the_sqlite_file_never_holds_the_plain_open_answer(tmp_path: Path) -> None:
    database = tmp_path / "sealed.sqlite3"
    with Store.open(url=f"sqlite:///{database}", cipher=FieldCipher(keys=[generate_key()])) as s:
        _answer(s, user="bram", text=OPEN_TEXT)
        files = [database, database.with_name(database.name + "-wal")]
        raw = b"".join(path.read_bytes() for path in files if path.exists())
        assert b"groep 3 voelen" not in raw
        assert SEALED_PREFIX.encode() in raw  # the search would have found stored answers


def test_rotation_reseals_with_the_newest_key(database_url: str) -> None:
    old_key, new_key = generate_key(), generate_key()
    with Store.open(url=database_url) as plain:  # written before encryption was switched on
        _answer(plain, user="chris", text="ooit zonder sleutel")
    with Store.open(url=database_url, cipher=FieldCipher(keys=[old_key])) as old:
        round_id = _answer(old, user="bram", text=OPEN_TEXT)

    with Store.open(url=database_url, cipher=FieldCipher(keys=[new_key, old_key])) as both:
        assert both.rotate_keys() == 2  # the old-key token and the plain legacy answer
        assert both.rotate_keys() == 0  # repeatable: nothing left to do

    with Store.open(url=database_url, cipher=FieldCipher(keys=[new_key])) as new_only:
        answers = new_only.submitted_answers(key=TEAM, round_id=round_id)
        assert sorted(a["open:1"] for a in answers) == [OPEN_TEXT, "ooit zonder sleutel"]
        assert all(value.startswith(SEALED_PREFIX) for value in _stored(new_only)["open:1"])
    with (
        Store.open(url=database_url, cipher=FieldCipher(keys=[old_key])) as old_only,
        pytest.raises(EncryptionKeyError),
    ):
        old_only.submitted_answers(key=TEAM, round_id=round_id)


def test_rotation_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    old_key, new_key = generate_key(), generate_key()
    with Store.open(url=url, cipher=FieldCipher(keys=[old_key])) as store:
        round_id = _answer(store, user="bram", text=OPEN_TEXT)

    monkeypatch.delenv("QUICKSCAN_ENCRYPTION_KEY", raising=False)
    assert cli.main(["sleutel-roteren", "--database", url]) == 2
    assert "QUICKSCAN_ENCRYPTION_KEY" in capsys.readouterr().err

    monkeypatch.setenv("QUICKSCAN_ENCRYPTION_KEY", f"{new_key},{old_key}")
    assert cli.main(["rotate-keys", "--database", url]) == 0
    assert capsys.readouterr().out.startswith("1 open answers")

    with Store.open(url=url, cipher=FieldCipher(keys=[new_key])) as store:
        assert store.submitted_answers(key=TEAM, round_id=round_id)[0]["open:1"] == OPEN_TEXT


def test_a_wrong_key_stops_the_command_without_showing_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    with Store.open(url=url, cipher=FieldCipher(keys=[generate_key()])) as store:
        _answer(store, user="bram", text=OPEN_TEXT)
    unrelated = generate_key()
    monkeypatch.setenv("QUICKSCAN_ENCRYPTION_KEY", unrelated)

    assert cli.main(["sleutel-roteren", "--database", url]) == 2

    err = capsys.readouterr().err
    assert "QUICKSCAN_ENCRYPTION_KEY" in err
    assert unrelated not in err


def test_new_key_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sleutel-maken"]) == 0
    key = capsys.readouterr().out.strip()
    assert FieldCipher(keys=[key]).enabled


def test_warning_at_start_of_a_platform_run_without_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Slack run without key warns; the adapter then stops on its incomplete set-up."""
    monkeypatch.delenv("QUICKSCAN_ENCRYPTION_KEY", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    for name in ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUICKSCAN_OUTPUT_DIR", str(tmp_path / "output"))
    url = f"sqlite:///{tmp_path / 'run.sqlite3'}"

    assert cli.main(["run", "--database", url]) == 2  # no app token or signing secret

    assert "WAARSCHUWING: QUICKSCAN_ENCRYPTION_KEY" in capsys.readouterr().err
    monkeypatch.setenv("QUICKSCAN_ENCRYPTION_KEY", generate_key())
    assert cli.main(["run", "--database", url]) == 2
    assert "WAARSCHUWING" not in capsys.readouterr().err


def test_the_console_does_not_warn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("QUICKSCAN_ENCRYPTION_KEY", raising=False)
    for name in ("SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUICKSCAN_OUTPUT_DIR", str(tmp_path / "output"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # a pipe that ends at once

    assert cli.main(["run", "--database", f"sqlite:///{tmp_path / 'c.sqlite3'}"]) == 0

    assert "WAARSCHUWING" not in capsys.readouterr().err


def test_the_bot_started_with_a_key_stores_no_plain_open_answer_or_pupil_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``quickscan run``'s own wiring: the key reaches both stores."""
    monkeypatch.setenv("QUICKSCAN_ENCRYPTION_KEY", generate_key())
    monkeypatch.setenv("QUICKSCAN_OUTPUT_DIR", str(tmp_path / "output"))
    database = tmp_path / "wired.sqlite3"
    roster = ConsoleRoster(members=["anna", "bram"])
    engine, _instruments = cli._engine(database_url=f"sqlite:///{database}", roster=roster)
    out = io.StringIO()
    adapter = ConsoleAdapter(engine=engine, roster=roster, out=out)
    try:
        for line in [
            "anna@team: /quickscan start",
            "bram@dm: start",
            *["bram@dm: +"] * QUESTIONS,
            "bram@dm: 7",
            "bram@dm: 6",
            "bram@dm: 8",
            f"bram@dm: {OPEN_TEXT}",
            "bram@team: /quickscan checklist",
            "bram@dm: /checklist klas",
            "bram@dm: QZ93",
            "bram@dm: klaar",
            "bram@dm: /checklist leerlingen",
        ]:
            adapter.feed(line)
        assert "QZ93" in out.getvalue()  # stored, and the teacher reads it back
        (bram,) = engine.store.active_participations(
            platform="console", workspace="console", user="bram"
        )
        assert engine.store.answers(participation_id=bram.id)["open:priority"] == OPEN_TEXT
        files = [database, database.with_name(database.name + "-wal")]
        raw = b"".join(path.read_bytes() for path in files if path.exists())
        assert OPEN_TEXT.encode() not in raw
        assert b"QZ93" not in raw
        assert stat.S_IMODE((tmp_path / "output").stat().st_mode) == 0o700
    finally:
        engine.store.close()
