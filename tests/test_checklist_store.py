"""The contract of ``ChecklistStore``, run unchanged on SQLite and PostgreSQL.

Pins what the checklist flow and service rely on: bindings per team, classes with
case-insensitive unique labels reported by line number, idempotent rounds with one
open at a time, scores that only change in an open round, erasure that takes
everything with it, and team isolation.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import insert, inspect
from sqlalchemy.exc import StatementError

from storage.checklist.records import (
    LABEL_MAX_CHARS,
    ChecklistRoundExistsError,
    ChecklistRoundNotOpenError,
    ChecklistRoundStatus,
    OtherChecklistRoundOpenError,
    TeacherState,
)
from storage.checklist.store import CLASS_MAX_PUPILS, ChecklistStore, label_key
from storage.db import alembic_config
from storage.keys import TeamKey
from storage.models.checklist import ChecklistPupilRow
from storage.quickscan.records import ParticipationState
from storage.quickscan.store import Store
from tests.conftest import FakeClock

TEAM = TeamKey(platform="slack", workspace="T-school-a", team="C-bovenbouw")
NEIGHBOUR = TeamKey(platform="slack", workspace="T-school-a", team="C-onderbouw")
STATEMENTS = ("s1", "s2", "s3", "s4", "s5", "s6")
ALL_THREE = dict.fromkeys(STATEMENTS, "3")


@pytest.fixture
def checklists(store: Store, clock: FakeClock) -> ChecklistStore:
    """A checklist store on the migrated test database, with two teams."""
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())
    store.ensure_team(key=NEIGHBOUR, founder="U-ida", now=clock())
    return ChecklistStore(engine=store.engine)


def test_binding_is_per_team_and_idempotent(checklists: ChecklistStore, clock: FakeClock) -> None:
    teacher, created = checklists.bind_teacher(
        key=TEAM, user="U-ida", display_name="Ida", now=clock()
    )
    assert created
    assert teacher.state is TeacherState.IDLE
    assert teacher.key.team_key == TEAM
    clock.advance(minutes=1)
    again, created_again = checklists.bind_teacher(
        key=TEAM, user="U-ida", display_name="Ida V.", now=clock()
    )
    assert not created_again
    assert again.id == teacher.id
    assert again.display_name == "Ida V."

    clock.advance(minutes=1)
    other, _ = checklists.bind_teacher(
        key=NEIGHBOUR, user="U-ida", display_name="Ida", now=clock()
    )
    mine = checklists.teachers_of_user(platform="slack", workspace="T-school-a", user="U-ida")
    assert [t.id for t in mine] == [other.id, teacher.id]  # most recent first
    assert checklists.teachers_of_user(platform="slack", workspace="T-other", user="U-ida") == []
    assert [t.key.user for t in checklists.teachers(key=TEAM)] == ["U-ida"]
    assert (
        checklists.teacher_for_user(
            platform="slack", workspace="T-school-a", user="U-bas", teacher_id=teacher.id
        )
        is None
    )
    with pytest.raises(LookupError):
        checklists.bind_teacher(
            key=TeamKey(platform="slack", workspace="x", team="y"),
            user="U-ida",
            display_name="Ida",
            now=clock(),
        )


def test_pupils_are_unique_without_case_and_reported_by_line(
    checklists: ChecklistStore, clock: FakeClock
) -> None:
    teacher, _ = checklists.bind_teacher(key=TEAM, user="U-ida", display_name="Ida", now=clock())
    outcome = checklists.add_pupils(
        teacher_id=teacher.id,
        labels=["AB", "", "c d", "ab", "X" * (LABEL_MAX_CHARS + 1), "C  D", "EF"],
        now=clock(),
    )
    assert outcome.added == 3
    assert outcome.duplicate_lines == (4, 6)
    assert outcome.too_long_lines == (5,)
    assert outcome.total == 3
    again = checklists.add_pupils(teacher_id=teacher.id, labels=["ef", "GH"], now=clock())
    assert (again.added, again.duplicate_lines, again.total) == (1, (1,), 4)
    pupils = checklists.pupils(teacher_id=teacher.id)
    assert [p.label for p in pupils] == ["AB", "c d", "EF", "GH"]
    assert [p.position for p in pupils] == [1, 2, 3, 4]
    assert label_key(" A  b ") == "a b"
    found = checklists.find_pupil(teacher_id=teacher.id, label="gh")
    assert found is not None
    assert found.label == "GH"
    assert "GH" not in repr(found)  # records never carry a label into logs or tracebacks

    # Another teacher may use the same codes: classes are separate.
    other, _ = checklists.bind_teacher(key=TEAM, user="U-bas", display_name="Bas", now=clock())
    assert checklists.add_pupils(teacher_id=other.id, labels=["AB"], now=clock()).added == 1


def test_a_class_has_a_ceiling(checklists: ChecklistStore, clock: FakeClock) -> None:
    teacher, _ = checklists.bind_teacher(key=TEAM, user="U-ida", display_name="Ida", now=clock())
    labels = [f"P{index}" for index in range(CLASS_MAX_PUPILS + 2)]
    outcome = checklists.add_pupils(teacher_id=teacher.id, labels=labels, now=clock())
    assert outcome.added == CLASS_MAX_PUPILS
    assert outcome.over_limit_lines == (CLASS_MAX_PUPILS + 1, CLASS_MAX_PUPILS + 2)


def test_rounds_are_idempotent_and_one_is_open_at_a_time(
    checklists: ChecklistStore, clock: FakeClock
) -> None:
    first = checklists.open_round(
        key=TEAM, number=1, school_year=2026, deadline=None, opened_by="U-ida", now=clock()
    )
    assert first.is_open
    assert checklists.current_round(key=TEAM) == first
    assert checklists.current_round(key=NEIGHBOUR) is None
    with pytest.raises(ChecklistRoundExistsError):
        checklists.open_round(
            key=TEAM, number=1, school_year=2026, deadline=None, opened_by="U-ida", now=clock()
        )
    with pytest.raises(OtherChecklistRoundOpenError):
        checklists.open_round(
            key=TEAM, number=2, school_year=2026, deadline=None, opened_by="U-ida", now=clock()
        )
    with pytest.raises(ValueError, match="1 or 2"):
        checklists.open_round(
            key=TEAM, number=3, school_year=2026, deadline=None, opened_by="U-ida", now=clock()
        )
    # The neighbour's close cannot touch this team's round.
    with pytest.raises(ChecklistRoundNotOpenError):
        checklists.close_round(key=NEIGHBOUR, round_id=first.id, now=clock())
    clock.advance(days=1)
    closed = checklists.close_round(key=TEAM, round_id=first.id, now=clock())
    assert closed.status is ChecklistRoundStatus.CLOSED
    assert closed.closed_at == clock()
    with pytest.raises(ChecklistRoundNotOpenError):
        checklists.close_round(key=TEAM, round_id=first.id, now=clock())
    with pytest.raises(ChecklistRoundExistsError):  # a closed round is not reopened
        checklists.open_round(
            key=TEAM, number=1, school_year=2026, deadline=None, opened_by="U-ida", now=clock()
        )
    second = checklists.open_round(
        key=TEAM,
        number=2,
        school_year=2026,
        deadline=clock() + timedelta(days=21),
        opened_by="scheduler",
        now=clock(),
    )
    assert second.deadline == clock() + timedelta(days=21)
    assert [r.number for r in checklists.rounds(key=TEAM)] == [1, 2]
    assert checklists.rounds(key=NEIGHBOUR) == []


def test_scores_commit_with_the_state_and_only_in_an_open_round(
    checklists: ChecklistStore, clock: FakeClock
) -> None:
    teacher, _ = checklists.bind_teacher(key=TEAM, user="U-ida", display_name="Ida", now=clock())
    checklists.add_pupils(teacher_id=teacher.id, labels=["AB", "CD"], now=clock())
    ab, cd = checklists.pupils(teacher_id=teacher.id)
    round_ = checklists.open_round(
        key=TEAM, number=1, school_year=2026, deadline=None, opened_by="U-ida", now=clock()
    )
    saved = checklists.save_entry(
        teacher_id=teacher.id,
        round_id=round_.id,
        pupil_id=ab.id,
        scores=ALL_THREE,
        step="bel moeder",
        state=TeacherState.SCORING,
        on_screen=cd.id,
        now=clock(),
    )
    assert (saved.state, saved.pupil_id) == (TeacherState.SCORING, cd.id)
    checklists.save_entry(
        teacher_id=teacher.id,
        round_id=round_.id,
        pupil_id=ab.id,
        scores={"s1": "4"},
        step=None,
        state=TeacherState.SCORING,
        on_screen=cd.id,
        now=clock(),
    )
    entries = checklists.class_round(teacher_id=teacher.id, round_=round_)
    assert entries.scores == {ab.id: {**ALL_THREE, "s1": "4"}}
    assert entries.steps == {ab.id: "bel moeder"}

    # Another teacher's pupil: refused, nothing stored.
    other, _ = checklists.bind_teacher(key=TEAM, user="U-bas", display_name="Bas", now=clock())
    with pytest.raises(ChecklistRoundNotOpenError):
        checklists.save_entry(
            teacher_id=other.id,
            round_id=round_.id,
            pupil_id=cd.id,
            scores=ALL_THREE,
            step=None,
            state=TeacherState.SCORING,
            on_screen=None,
            now=clock(),
        )
    checklists.close_round(key=TEAM, round_id=round_.id, now=clock())
    with pytest.raises(ChecklistRoundNotOpenError):
        checklists.save_entry(
            teacher_id=teacher.id,
            round_id=round_.id,
            pupil_id=cd.id,
            scores=ALL_THREE,
            step=None,
            state=TeacherState.IDLE,
            on_screen=None,
            now=clock(),
        )
    assert cd.id not in checklists.class_round(teacher_id=teacher.id, round_=round_).scores
    assert checklists.teachers(key=TEAM)[0].state is TeacherState.SCORING


def test_progress_team_scores_and_erasure(checklists: ChecklistStore, clock: FakeClock) -> None:
    ida, _ = checklists.bind_teacher(key=TEAM, user="U-ida", display_name="Ida", now=clock())
    bas, _ = checklists.bind_teacher(key=TEAM, user="U-bas", display_name="Bas", now=clock())
    checklists.bind_teacher(key=TEAM, user="U-cor", display_name="Cor", now=clock())
    neighbour, _ = checklists.bind_teacher(
        key=NEIGHBOUR, user="U-dex", display_name="Dex", now=clock()
    )
    for teacher in (ida, bas, neighbour):
        checklists.add_pupils(teacher_id=teacher.id, labels=["AB", "CD", "EF"], now=clock())
    round_ = checklists.open_round(
        key=TEAM, number=1, school_year=2026, deadline=None, opened_by="U-ida", now=clock()
    )
    other_round = checklists.open_round(
        key=NEIGHBOUR, number=1, school_year=2026, deadline=None, opened_by="U-ida", now=clock()
    )

    def score(teacher_id: int, round_id: int, index: int, scores: dict[str, str]) -> None:
        pupil = checklists.pupils(teacher_id=teacher_id)[index]
        checklists.save_entry(
            teacher_id=teacher_id,
            round_id=round_id,
            pupil_id=pupil.id,
            scores=scores,
            step=None,
            state=TeacherState.SCORING,
            on_screen=pupil.id,
            now=clock(),
        )

    for index in range(3):
        score(ida.id, round_.id, index, ALL_THREE)
    score(bas.id, round_.id, 0, ALL_THREE)
    score(bas.id, round_.id, 1, {"s1": "1"})
    score(neighbour.id, other_round.id, 0, dict.fromkeys(STATEMENTS, "1"))

    progress = {
        p.user: (p.pupils, p.complete, p.finished)
        for p in checklists.progress(key=TEAM, round_id=round_.id, statements=6)
    }
    assert progress == {
        "U-ida": (3, 3, True),
        "U-bas": (3, 1, False),
        "U-cor": (0, 0, False),
    }
    per_teacher = checklists.team_scores(key=TEAM, round_id=round_.id)
    assert per_teacher == [[ALL_THREE] * 3, [ALL_THREE, {"s1": "1"}]]
    assert checklists.team_scores(key=NEIGHBOUR, round_id=round_.id) == []

    # Removing a pupil takes their scores; erasing a teacher takes everything.
    cd = checklists.pupils(teacher_id=bas.id)[1]
    checklists.set_state(
        teacher_id=bas.id, state=TeacherState.SCORING, pupil_id=cd.id, now=clock()
    )
    assert checklists.remove_pupil(teacher_id=bas.id, pupil_id=cd.id)
    assert not checklists.remove_pupil(teacher_id=ida.id, pupil_id=cd.id)
    bas_now = checklists.teachers(key=TEAM)[1]
    assert (bas_now.state, bas_now.pupil_id) == (TeacherState.IDLE, None)
    assert checklists.team_scores(key=TEAM, round_id=round_.id)[1] == [ALL_THREE]
    assert checklists.wipe_teacher(teacher_id=ida.id) == 3
    assert checklists.pupils(teacher_id=ida.id) == []
    assert [t.key.user for t in checklists.teachers(key=TEAM)] == ["U-bas", "U-cor"]
    assert checklists.team_scores(key=TEAM, round_id=round_.id) == [[ALL_THREE]]
    assert checklists.class_round(teacher_id=neighbour.id, round_=other_round).scores


def test_settle_after_close_resets_only_busy_teachers(
    checklists: ChecklistStore, clock: FakeClock
) -> None:
    ida, _ = checklists.bind_teacher(key=TEAM, user="U-ida", display_name="Ida", now=clock())
    bas, _ = checklists.bind_teacher(key=TEAM, user="U-bas", display_name="Bas", now=clock())
    dex, _ = checklists.bind_teacher(key=NEIGHBOUR, user="U-dex", display_name="Dex", now=clock())
    checklists.set_state(teacher_id=ida.id, state=TeacherState.SCORING, pupil_id=7, now=clock())
    checklists.set_state(
        teacher_id=bas.id, state=TeacherState.REGISTERING, pupil_id=None, now=clock()
    )
    checklists.set_state(teacher_id=dex.id, state=TeacherState.PAUSED, pupil_id=7, now=clock())
    assert checklists.settle_after_close(key=TEAM) == 1
    states = {t.key.user: t.state for t in checklists.teachers(key=TEAM)}
    assert states == {"U-ida": TeacherState.IDLE, "U-bas": TeacherState.REGISTERING}
    assert checklists.teachers(key=NEIGHBOUR)[0].state is TeacherState.PAUSED


def test_quickscan_activity_sees_only_open_unsubmitted_walkthroughs(
    store: Store, checklists: ChecklistStore, clock: FakeClock
) -> None:
    def activity() -> tuple[bool, object]:
        return checklists.quickscan_activity(
            platform=TEAM.platform, workspace=TEAM.workspace, user="U-ida"
        )

    assert activity() == (False, None)
    round_ = store.open_round(
        key=TEAM, instrument_id="quickscan-po", opened_by="U-ida", deadline=None, now=clock()
    )
    participation, _ = store.invite(
        key=TEAM, round_id=round_.id, user="U-ida", display_name="Ida", now=clock()
    )
    assert activity() == (True, None)  # invited, not yet answering
    clock.advance(minutes=3)
    store.save_progress(
        participation_id=participation.id,
        state=ParticipationState.ANSWERING,
        position=1,
        now=clock(),
    )
    assert activity() == (True, clock())
    store.close_round(key=TEAM, round_id=round_.id, now=clock())
    assert activity() == (False, None)


def test_labels_stay_out_of_sql_logs_and_errors(
    store: Store,
    checklists: ChecklistStore,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Everything at DEBUG, SQLAlchemy's statement and row logging included.
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    try:
        teacher, _ = checklists.bind_teacher(
            key=TEAM, user="U-ida", display_name="Ida", now=clock()
        )
        checklists.add_pupils(teacher_id=teacher.id, labels=["Zq-Secret-1"], now=clock())
        found = checklists.find_pupil(teacher_id=teacher.id, label="Zq-Secret-1")
        assert found is not None
        assert checklists.pupils(teacher_id=teacher.id)[0].label == "Zq-Secret-1"
        # The quickscan store's own statements are still logged: the setting is the
        # checklist's alone.
        store.get_team(key=TEAM)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)
    assert any("FROM teams" in record.getMessage() for record in caplog.records)
    assert not any("Zq-Secret" in record.getMessage() for record in caplog.records)

    # A database error on the checklist's connection hides its parameters.
    with (
        pytest.raises(StatementError) as error,
        checklists._sessions.begin() as session,  # provoking a DB error
    ):
        session.execute(
            insert(ChecklistPupilRow).values(
                teacher_id=teacher.id,
                label="Zq-Secret-2",
                label_key="zq-secret-1",
                position=2,
                created_at=clock(),
            )
        )
    assert "Zq-Secret" not in str(error.value)


def test_the_migration_downgrades_and_upgrades_cleanly(store: Store) -> None:
    config = alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert not any(
        name.startswith("checklist_") for name in inspect(store.engine).get_table_names()
    )
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    assert "checklist_pupils" in inspect(store.engine).get_table_names()
