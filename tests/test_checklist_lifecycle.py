"""Pupil data at rest and at its end: encryption, key rotation, retention, access, erasure.

The storage contract runs on SQLite and PostgreSQL; the searches of the raw database
and WAL bytes only make sense on SQLite, where the whole database is two files.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.engine import Engine
from bot.delivery.api import Delivery, Limit, SendResult, Sent
from conversations.core.messages import Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.checklist.lifecycle import keep_until_for, school_year_start
from storage.checklist.records import ChecklistRound, Teacher, TeacherState
from storage.checklist.store import ChecklistStore
from storage.crypto import SEALED_PREFIX, FieldCipher, generate_key
from storage.keys import TeamKey
from storage.models.checklist import ChecklistPupilRow, ChecklistStepRow
from storage.quickscan.store import Store
from tests.conftest import FakeClock

TEAM = TeamKey(platform="slack", workspace="T-school-a", team="C-bovenbouw")
NEIGHBOUR = TeamKey(platform="slack", workspace="T-school-a", team="C-onderbouw")
ALL = dict.fromkeys(("s1", "s2", "s3", "s4", "s5", "s6"), "3")
# 1 October 2026: school year 2026/27, round 1 time.
AUTUMN = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
# Distinctive codes, so a hit in the raw bytes is never a coincidence.
CODES = ("Qz7LP", "Qz8MR", "Qz9NL")
STEP = "Qzstap huisbezoek"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=AUTUMN)


def _teacher(
    checklists: ChecklistStore, clock: FakeClock, user: str, key: TeamKey = TEAM
) -> Teacher:
    teacher, _ = checklists.bind_teacher(key=key, user=user, display_name=user, now=clock())
    return teacher


def _fill(
    checklists: ChecklistStore, clock: FakeClock, teacher: Teacher, codes: tuple[str, ...]
) -> ChecklistRound:
    """Register ``codes``, open (or reuse) round 1 and score the first pupil with a step."""
    checklists.add_pupils(teacher_id=teacher.id, labels=list(codes), now=clock())
    round_ = checklists.open_round_of_team(team_id=teacher.team_id) or checklists.open_round(
        key=teacher.key.team_key,
        number=1,
        school_year=2026,
        deadline=None,
        opened_by=teacher.key.user,
        now=clock(),
    )
    first = checklists.pupils(teacher_id=teacher.id)[0]
    checklists.save_entry(
        teacher_id=teacher.id,
        round_id=round_.id,
        pupil_id=first.id,
        scores=ALL,
        step=STEP,
        state=TeacherState.SCORING,
        on_screen=first.id,
        now=clock(),
    )
    return round_


def _open(
    database_url: str, cipher: FieldCipher | None, clock: FakeClock
) -> tuple[Store, ChecklistStore]:
    store = Store.open(url=database_url)
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())
    store.ensure_team(key=NEIGHBOUR, founder="U-ida", now=clock())
    return store, ChecklistStore(engine=store.engine, cipher=cipher)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(keys=[generate_key()])


@pytest.fixture
def checklists(store: Store, clock: FakeClock) -> ChecklistStore:
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())
    store.ensure_team(key=NEIGHBOUR, founder="U-ida", now=clock())
    return ChecklistStore(engine=store.engine)


def _raw(database_url: str) -> bytes:
    """The bytes of the SQLite database file and its WAL, as a thief would read them."""
    path = Path(database_url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _found(raw: bytes, values: tuple[str, ...]) -> set[str]:
    """Which values (or their case-folded comparison form) occur in the raw bytes."""
    return {value for value in values if value.encode() in raw or value.casefold().encode() in raw}


# ---------------------------------------------------------------- encryption at rest


def test_codes_and_steps_are_sealed_at_rest_and_read_back_plain(
    database_url: str, cipher: FieldCipher, clock: FakeClock
) -> None:
    store, checklists = _open(database_url, cipher, clock)
    try:
        teacher = _teacher(checklists, clock, "U-ida")
        round_ = _fill(checklists, clock, teacher, CODES)
        assert [p.label for p in checklists.pupils(teacher_id=teacher.id)] == list(CODES)
        found = checklists.find_pupil(teacher_id=teacher.id, label="qz8mr")
        assert found is not None
        assert found.label == "Qz8MR"
        entries = checklists.class_round(teacher_id=teacher.id, round_=round_)
        assert list(entries.steps.values()) == [STEP]
        # Duplicates are still found although the stored keys are keyed hashes.
        again = checklists.add_pupils(teacher_id=teacher.id, labels=["QZ7LP"], now=clock())
        assert again.duplicate_lines == (1,)
        with store.engine.connect() as connection:
            labels = connection.execute(
                select(ChecklistPupilRow.label, ChecklistPupilRow.label_key)
            )
            for label, key in labels:
                assert label.startswith(SEALED_PREFIX)
                assert key.startswith("h1:")
                assert not any(code.casefold() in key.casefold() for code in CODES)
            (text,) = connection.execute(select(ChecklistStepRow.text)).scalars()
            assert text.startswith(SEALED_PREFIX)
        if database_url.startswith("sqlite"):
            checklists.rotate_keys()  # nothing to rotate, but also a checkpoint
            assert _found(_raw(database_url), (*CODES, STEP)) == set()
    finally:
        store.close()


def test_rotating_keys_reseals_and_rekeys_every_row(
    database_url: str, cipher: FieldCipher, clock: FakeClock
) -> None:
    old_key, new_key = generate_key(), generate_key()
    # Data stored without encryption, then with the old key, then rotated twice.
    store, plain = _open(database_url, None, clock)
    try:
        ida = _teacher(plain, clock, "U-ida")
        _fill(plain, clock, ida, CODES[:2])
        old = ChecklistStore(engine=store.engine, cipher=FieldCipher(keys=[old_key]))
        assert old.rotate_keys() == 3  # two pupils and one step sealed
        assert old.rotate_keys() == 0  # idempotent
        bas = _teacher(old, clock, "U-bas")
        old.add_pupils(teacher_id=bas.id, labels=[CODES[2]], now=clock())

        rotated = ChecklistStore(engine=store.engine, cipher=FieldCipher(keys=[new_key, old_key]))
        # Before rotation a code keyed under the old key is still found and de-duplicated.
        assert rotated.find_pupil(teacher_id=bas.id, label=CODES[2]) is not None
        assert rotated.add_pupils(teacher_id=bas.id, labels=[CODES[2]], now=clock()).added == 0
        assert rotated.rotate_keys() == 4  # three pupils, one step
        assert rotated.rotate_keys() == 0

        # The old key can go: everything opens with the new key alone.
        fresh = ChecklistStore(engine=store.engine, cipher=FieldCipher(keys=[new_key]))
        assert [p.label for p in fresh.pupils(teacher_id=ida.id)] == list(CODES[:2])
        found = fresh.find_pupil(teacher_id=bas.id, label=CODES[2].upper())
        assert found is not None
        assert found.label == CODES[2]
        with store.engine.connect() as connection:
            keys = connection.execute(select(ChecklistPupilRow.label_key)).scalars().all()
        assert sorted(keys) == sorted(
            FieldCipher(keys=[new_key]).lookup_key(code.casefold()) for code in CODES
        )
        assert ChecklistStore(engine=store.engine).rotate_keys() == 0  # no keys: nothing
    finally:
        store.close()


def test_rotation_never_overwrites_a_step_changed_meanwhile(
    database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A teacher saves a new step while the rotation runs: the new step survives.

    PostgreSQL lets the two interleave. SQLite takes the write lock when a
    transaction begins (``BEGIN IMMEDIATE``), so there the teacher's save (in its
    own thread, as the running bot's would be) waits until the rotation has
    committed, and must then still win.
    """
    serialised = database_url.startswith("sqlite")
    savers: list[threading.Thread] = []
    old_key, new_key = generate_key(), generate_key()
    store, old = _open(database_url, FieldCipher(keys=[old_key]), clock)
    try:
        ida = _teacher(old, clock, "U-ida")
        round_ = _fill(old, clock, ida, CODES[:1])
        (pupil,) = old.pupils(teacher_id=ida.id)
        both = FieldCipher(keys=[new_key, old_key])
        live = ChecklistStore(engine=store.engine, cipher=both)  # the running bot
        rotation = FieldCipher(keys=[new_key, old_key])
        reseal = rotation.rotate

        def save() -> None:
            live.save_entry(
                teacher_id=ida.id,
                round_id=round_.id,
                pupil_id=pupil.id,
                scores={},
                step="Qznieuwe stap",
                state=TeacherState.IDLE,
                on_screen=None,
                now=clock(),
            )

        def teacher_saves_meanwhile(stored: str) -> str:
            if rotation.open(stored) == STEP:  # the rotation has read the old step
                if serialised:
                    savers.append(threading.Thread(target=save))
                    savers[-1].start()
                else:
                    save()
            return reseal(stored)

        monkeypatch.setattr(rotation, "rotate", teacher_saves_meanwhile)
        ChecklistStore(engine=store.engine, cipher=rotation).rotate_keys()
        for saver in savers:
            saver.join(timeout=30)
        assert len(savers) == (1 if serialised else 0)

        steps = live.class_round(teacher_id=ida.id, round_=round_).steps
        assert steps == {pupil.id: "Qznieuwe stap"}
        assert live.pupils(teacher_id=ida.id)[0].label == CODES[0]
        assert ChecklistStore(engine=store.engine, cipher=both).rotate_keys() == 0
    finally:
        store.close()


# ------------------------------------------------------------------ retention


def test_pupil_data_ends_with_the_school_year_unless_kept(
    checklists: ChecklistStore, clock: FakeClock
) -> None:
    ida = _teacher(checklists, clock, "U-ida")
    bas = _teacher(checklists, clock, "U-bas")
    _fill(checklists, clock, ida, CODES[:2])
    _fill(checklists, clock, bas, CODES[2:])
    end = school_year_start(2027)
    assert end == datetime(2027, 7, 31, 22, 0, tzinfo=UTC)  # 1 August, 00:00 in Amsterdam

    kept = checklists.set_keep_until(teacher_id=bas.id, keep_until=keep_until_for(clock()))
    assert kept.keep_until == datetime(2028, 7, 31, 22, 0, tzinfo=UTC)

    assert checklists.purge_expired(now=end - timedelta(minutes=1)) == 0
    assert checklists.purge_expired(now=end) == 2  # Ida's two pupils, Bas keeps his
    assert checklists.pupils(teacher_id=ida.id) == []
    assert len(checklists.pupils(teacher_id=bas.id)) == 1
    (ida_now,) = [t for t in checklists.teachers(key=TEAM) if t.id == ida.id]
    assert (ida_now.state, ida_now.pupil_id) == (TeacherState.IDLE, None)  # nothing on screen
    assert checklists.purge_expired(now=end + timedelta(days=1)) == 0  # idempotent

    # A class registered in the new school year stays through that year.
    clock.advance(end + timedelta(days=40) - clock())
    checklists.add_pupils(teacher_id=ida.id, labels=["AB"], now=clock())
    assert checklists.purge_expired(now=school_year_start(2028) - timedelta(seconds=1)) == 0

    # Bas's choice runs out a school year later: then his data goes too, and so does
    # Ida's class of 2027/28.
    assert checklists.purge_expired(now=school_year_start(2028)) == 2
    assert all(t.keep_until is None for t in checklists.teachers(key=TEAM))


def test_keeping_again_never_keeps_a_class_beyond_one_extra_school_year(
    checklists: ChecklistStore, clock: FakeClock
) -> None:
    ida = _teacher(checklists, clock, "U-ida")
    _fill(checklists, clock, ida, CODES[:2])  # entered in 2026/27
    checklists.set_keep_until(teacher_id=ida.id, keep_until=keep_until_for(clock()))
    assert checklists.purge_expired(now=school_year_start(2027)) == 0  # the extra year

    clock.advance(school_year_start(2027) + timedelta(days=60) - clock())
    checklists.add_pupils(teacher_id=ida.id, labels=["AB"], now=clock())  # 2027/28's class
    again = checklists.set_keep_until(teacher_id=ida.id, keep_until=keep_until_for(clock()))
    assert again.keep_until == school_year_start(2029)

    # 1 August 2028: the class of 2026/27 has had its extra year; 2027/28's starts.
    assert checklists.purge_expired(now=school_year_start(2028)) == 2
    assert [pupil.label for pupil in checklists.pupils(teacher_id=ida.id)] == ["AB"]
    assert checklists.purge_expired(now=school_year_start(2029)) == 1


def test_keeping_can_be_switched_off(checklists: ChecklistStore, clock: FakeClock) -> None:
    ida = _teacher(checklists, clock, "U-ida")
    _fill(checklists, clock, ida, CODES[:1])
    checklists.set_keep_until(teacher_id=ida.id, keep_until=keep_until_for(clock()))
    assert checklists.set_keep_until(teacher_id=ida.id, keep_until=None).keep_until is None
    assert checklists.purge_expired(now=school_year_start(2027)) == 1
    with pytest.raises(LookupError):
        checklists.set_keep_until(teacher_id=ida.id + 99, keep_until=None)


# ------------------------------------------------------------ access and erasure


def test_teacher_data_is_everything_of_that_member_and_json(
    database_url: str, cipher: FieldCipher, clock: FakeClock
) -> None:
    store, checklists = _open(database_url, cipher, clock)
    try:
        ida = _teacher(checklists, clock, "U-ida")
        _fill(checklists, clock, ida, CODES[:2])
        _teacher(checklists, clock, "U-ida", key=NEIGHBOUR)
        bas = _teacher(checklists, clock, "U-bas")
        _fill(checklists, clock, bas, CODES[2:])

        data = checklists.teacher_data(platform="slack", workspace="T-school-a", user="U-ida")
        assert json.loads(json.dumps(data)) == data
        assert [entry["team"] for entry in data] == ["C-bovenbouw", "C-onderbouw"]
        pupils = data[0]["pupils"]
        assert isinstance(pupils, list)
        assert [p["code"] for p in pupils] == list(CODES[:2])
        assert pupils[0]["rounds"] == [
            {"school_year": 2026, "round": 1, "scores": ALL, "verbeterstap": STEP}
        ]
        assert pupils[1]["rounds"] == []
        assert CODES[2] not in json.dumps(data)  # a colleague's class is not mine
        assert checklists.teacher_data(platform="slack", workspace="T-other", user="U-ida") == []
    finally:
        store.close()


def test_forget_teacher_erases_every_binding_in_the_workspace(
    checklists: ChecklistStore, clock: FakeClock
) -> None:
    ida = _teacher(checklists, clock, "U-ida")
    round_ = _fill(checklists, clock, ida, CODES[:2])
    other = _teacher(checklists, clock, "U-ida", key=NEIGHBOUR)
    checklists.add_pupils(teacher_id=other.id, labels=["AB"], now=clock())
    bas = _teacher(checklists, clock, "U-bas")
    checklists.add_pupils(teacher_id=bas.id, labels=[CODES[2]], now=clock())

    assert checklists.forget_teacher(platform="slack", workspace="T-school-a", user="U-ida") == 3
    assert (
        checklists.teachers_of_user(platform="slack", workspace="T-school-a", user="U-ida") == []
    )
    assert [t.key.user for t in checklists.teachers(key=TEAM)] == ["U-bas"]
    assert [p.label for p in checklists.pupils(teacher_id=bas.id)] == [CODES[2]]
    (kept,) = checklists.rounds(key=TEAM)
    assert kept.id == round_.id
    assert kept.opened_by != "U-ida"  # the round stays, without who opened it
    assert checklists.forget_teacher(platform="slack", workspace="T-school-a", user="U-ida") == 0


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gone.sqlite3'}"


@pytest.fixture
def on_file(sqlite_url: str, clock: FakeClock) -> Iterator[tuple[Store, ChecklistStore]]:
    store, checklists = _open(sqlite_url, None, clock)
    yield store, checklists
    store.close()


@pytest.mark.parametrize("how", ["wipe", "forget", "purge", "remove"])
def test_erased_codes_are_gone_from_the_database_file_and_wal(
    how: str, sqlite_url: str, on_file: tuple[Store, ChecklistStore], clock: FakeClock
) -> None:
    _, checklists = on_file
    ida = _teacher(checklists, clock, "U-ida")
    _fill(checklists, clock, ida, CODES)
    bas = _teacher(checklists, clock, "U-bas")
    checklists.add_pupils(teacher_id=bas.id, labels=["Qzblijft1"], now=clock())
    checklists.set_keep_until(teacher_id=bas.id, keep_until=keep_until_for(clock()))
    # Stored plain (no key): the codes are in the files before the erasure.
    assert _found(_raw(sqlite_url), (*CODES, STEP)) == {*CODES, STEP}

    if how == "wipe":
        assert checklists.wipe_teacher(teacher_id=ida.id) == 3
    elif how == "forget":
        assert checklists.forget_teacher(platform="slack", workspace="T-school-a", user="U-ida")
    elif how == "purge":
        assert checklists.purge_expired(now=school_year_start(2027)) == 3
    else:
        for pupil in checklists.pupils(teacher_id=ida.id):
            assert checklists.remove_pupil(teacher_id=ida.id, pupil_id=pupil.id)

    raw = _raw(sqlite_url)
    assert _found(raw, (*CODES, STEP)) == set()
    assert b"Qzblijft1" in raw  # what was not erased is still there (the search works)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_checklist_wis_in_the_dm_leaves_nothing_on_disk(
    encrypted: bool, sqlite_url: str, tmp_path: Path
) -> None:
    """The whole path a teacher takes: register, score with a step, /checklist wis, confirm."""
    cipher = FieldCipher(keys=[generate_key()]) if encrypted else None
    store = Store.open(url=sqlite_url, cipher=cipher)
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=_NoRoster(),
        clock=FakeClock(start=AUTUMN),
        output_dir=tmp_path / "output",
    )

    def say(text: str = "", *, team: bool = False, payload: str | None = None) -> list[Outbound]:
        return engine.handle(
            Inbound(
                platform=TEAM.platform,
                workspace=TEAM.workspace,
                team=TEAM.team,
                where=Where.TEAM if team else Where.DM,
                sender=Sender(user="U-ida", display_name="Ida"),
                text=text,
                payload=payload,
            )
        )

    try:
        say("/quickscan checklist", team=True)
        say("/checklist klas\n" + "\n".join(CODES) + "\nklaar")
        say("/quickscan checklist start 1", team=True)
        say("/checklist invullen")
        say("3 3 3 3 3 3 " + STEP)
        say("/checklist export")
        # Delivered, as the platform's worker does within moments: each message's body
        # leaves the outbox once sent, and the export is made just before its send.
        sender = _Delivered()
        engine.dispatcher(sender=sender).run_until_idle()
        (exported,) = [message for message in sender.sent if message.file is not None]
        assert exported.file is not None
        assert exported.file.exists()
        raw = _raw(sqlite_url)
        assert _found(raw, (*CODES, STEP)) == (set() if encrypted else {*CODES, STEP})
        (asked,) = say("/checklist wis")
        (done,) = say(payload=asked.buttons[0].payload)
        assert "gewist (3 leerlingen" in done.text
        assert _found(_raw(sqlite_url), (*CODES, STEP)) == set()
        assert not exported.file.exists()
    finally:
        store.close()


class _NoRoster:
    def members(self, *, team: TeamKey) -> list[Sender]:
        return []


class _Delivered:
    """A platform that takes every message, and keeps what it was sent."""

    platform = TEAM.platform

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    def limits(self, delivery: Delivery) -> list[Limit]:
        return []

    def send(self, delivery: Delivery) -> SendResult:
        self.sent.append(delivery.message)
        return Sent()
