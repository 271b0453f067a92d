"""The teacher's checklist DM at the event level: every step, and forged or stale input.

Drives the real engine (SQLite) with neutral events, the way adapters do.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.engine import Engine
from bot.delivery.attachments import AttachmentUnavailableError
from conversations.checklist.prompts import ClAction, ClVerb, decode
from conversations.core.limits import CALLBACK_DATA_MAX_BYTES
from conversations.core.messages import (
    AttachmentKind,
    DestinationKind,
    Inbound,
    Outbound,
    Sender,
    Where,
)
from conversations.instrument import load_instruments
from storage.checklist.records import TeacherState
from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.quickscan.store import Store
from tests.conftest import FakeClock

TEAM = TeamKey(platform="console", workspace="w1", team="t1")
OTHER_TEAM = TeamKey(platform="console", workspace="w1", team="t2")
START = datetime(2026, 9, 28, 6, 0, tzinfo=UTC)
CLASS = ("KP-01", "KP-02", "KP-03", "KP-04")


class Roster:
    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user=name, display_name=name.title()) for name in ("anna", "bram")]


@pytest.fixture
def clock() -> FakeClock:
    """Monday 28 September 2026: school year 2026/27, before the herfstvakantie."""
    return FakeClock(start=START)


@pytest.fixture
def engine(tmp_path: Path, clock: FakeClock) -> Iterator[Engine]:
    store = Store.open(url=f"sqlite:///{tmp_path / 'checklist.sqlite3'}")
    yield Engine(
        store=store,
        instruments=load_instruments(),
        roster=Roster(),
        clock=clock,
        output_dir=tmp_path / "output",
    )
    store.close()


def said(
    user: str,
    text: str = "",
    *,
    where: Where = Where.DM,
    payload: str | None = None,
    team: str = TEAM.team,
) -> Inbound:
    return Inbound(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team=team,
        where=where,
        sender=Sender(user=user, display_name=user.title()),
        text=text,
        payload=payload,
    )


def press(engine: Engine, user: str, message: Outbound, label: str) -> list[Outbound]:
    """Press the button with this label on a message."""
    (button,) = [b for b in message.buttons if b.label == label]
    return engine.handle(said(user, payload=button.payload))


def register(engine: Engine, user: str, labels: tuple[str, ...] = CLASS) -> None:
    engine.handle(said(user, "/quickscan checklist", where=Where.TEAM))
    engine.handle(said(user, "/checklist klas\n" + "\n".join(labels) + "\nklaar"))


def open_round(engine: Engine, number: int = 1) -> list[Outbound]:
    return engine.handle(said("anna", f"/quickscan checklist start {number}", where=Where.TEAM))


def checklists(engine: Engine) -> ChecklistStore:
    return ChecklistStore(engine=engine.store.engine)


def teacher_state(engine: Engine, user: str) -> tuple[TeacherState, int | None]:
    (teacher,) = [t for t in checklists(engine).teachers(key=TEAM) if t.key.user == user]
    return teacher.state, teacher.pupil_id


def scores_of(engine: Engine, user: str) -> dict[str, dict[str, str]]:
    """The user's scores in the open round, by pupil label (test-side only)."""
    store = checklists(engine)
    (teacher,) = [t for t in store.teachers(key=TEAM) if t.key.user == user]
    round_ = store.current_round(key=TEAM)
    assert round_ is not None
    entries = store.class_round(teacher_id=teacher.id, round_=round_)
    labels = {p.id: p.label for p in store.pupils(teacher_id=teacher.id)}
    return {labels[pupil_id]: dict(scores) for pupil_id, scores in entries.scores.items()}


def test_binding_and_class_registration(engine: Engine) -> None:
    bound = engine.handle(said("anna", "/quickscan checklist", where=Where.TEAM))
    ack, intro = bound
    assert ack.destination.kind is DestinationKind.EPHEMERAL
    assert intro.destination.kind is DestinationKind.DM
    assert "initialen of een code" in intro.text

    (asked,) = engine.handle(said("anna", "/checklist klas"))
    assert "AVG" in asked.text
    assert "initialen of een code" in asked.text
    (first,) = engine.handle(said("anna", "KP-01\nKP-02\n\n- KP-03"))
    assert "Toegevoegd: 3 · nu 3 leerlingen" in first.text
    (second,) = engine.handle(said("anna", "kp-02\nJan de Vries\nKP-04\nAvdB"))
    assert "Toegevoegd: 2 · nu 5 leerlingen" in second.text
    assert "Regel 1 staat al in je klas" in second.text
    # A name is refused by line number, never quoted back, with the advice.
    assert "Regel 2 lijkt op een naam en is niet opgeslagen" in second.text
    assert "Gebruik initialen (zoals AB of AvdB) of een nummer" in second.text
    assert "Vries" not in second.text
    (one,) = engine.handle(said("anna", "Sanne"))
    assert one.text.startswith("Dat lijkt op een naam en is niet opgeslagen.")
    (done,) = engine.handle(said("anna", "klaar"))
    assert "5 leerlingen" in done.text
    (listed,) = engine.handle(said("anna", "/checklist leerlingen"))
    assert "1. KP-01" in listed.text
    assert "5. AvdB" in listed.text
    (removed,) = engine.handle(said("anna", "/checklist verwijder avdb"))
    assert "AvdB is verwijderd" in removed.text
    (by_number,) = engine.handle(said("anna", "/checklist verwijder 4"))
    assert "KP-04 is verwijderd" in by_number.text
    (unknown,) = engine.handle(said("anna", "/checklist verwijder KP-99"))
    assert "niets verwijderd" in unknown.text
    assert teacher_state(engine, "anna") == (TeacherState.IDLE, None)
    # After "klaar", plain text is the quickscan's again (no quickscan open here).
    (plain,) = engine.handle(said("anna", "KP-05"))
    assert "geen quickscan" in plain.text


def test_not_bound_teacher_gets_told_how(engine: Engine) -> None:
    (reply,) = engine.handle(said("bram", "/checklist invullen"))
    assert "/quickscan checklist" in reply.text


def test_fast_path_buttons_step_and_progress(engine: Engine) -> None:
    register(engine, "anna")
    opened = open_round(engine)
    assert "ronde 1 (2026/27) is geopend" in opened[0].text
    (first,) = engine.handle(said("anna", "/checklist invullen"))
    assert "*KP-01* · leerling 1 van 4" in first.text
    assert "0 van 4 leerlingen helemaal ingevuld" in first.text
    assert len([b for b in first.buttons if ":" in b.label]) == 6 * 4
    assert not first.replace_previous

    # Fast path: six scores (and a step) in one message, then straight to the next pupil.
    (second,) = engine.handle(said("anna", "3 3 4 2 1 4 bel moeder na de ouderavond"))
    assert "Opgeslagen voor KP-01: 3 3 4 2 1 4. Met verbeterstap." in second.text
    assert "*KP-02* · leerling 2 van 4" in second.text
    assert second.replace_previous
    assert scores_of(engine, "anna")["KP-01"] == dict(
        zip(("s1", "s2", "s3", "s4", "s5", "s6"), "334214", strict=True)
    )

    # Buttons: each press stores one score and re-renders the same message in place.
    message = second
    for number, code in zip(range(1, 7), "244321", strict=True):
        (message,) = press(engine, "anna", message, f"{number}: {code}")
        assert message.replace_previous
        assert "*KP-02*" in message.text
        assert f"{number}: {code} \u2713" in [b.label for b in message.buttons]
    labels = [b.label for b in message.buttons]
    assert {"volgende leerling", "verbeterstap toevoegen", "vorige leerling", "later"} <= set(
        labels
    )
    # Changing a score is one more press.
    (message,) = press(engine, "anna", message, "1: 3")
    assert scores_of(engine, "anna")["KP-02"]["s1"] == "3"

    (asked,) = press(engine, "anna", message, "verbeterstap toevoegen")
    assert asked.free_text
    assert "KP-02" in asked.text
    assert teacher_state(engine, "anna")[0] is TeacherState.STEP
    (third,) = engine.handle(said("anna", "huisbezoek plannen"))
    assert "Verbeterstap voor KP-02 opgeslagen" in third.text
    assert "*KP-03* · leerling 3 van 4" in third.text
    assert "2 van 4 leerlingen helemaal ingevuld" in third.text

    # "klaar" on an unfinished pupil says what is missing and changes nothing.
    (missing,) = engine.handle(said("anna", "2:4"))
    (refused,) = engine.handle(said("anna", "klaar"))
    assert "Nog niet alle uitspraken hebben een score: 1, 3, 4, 5, 6" in refused.text
    assert "*KP-03*" in refused.text
    (nonsense,) = engine.handle(said("anna", "3 3 4 2 1 9"))
    assert "Dat begrijp ik niet" in nonsense.text
    assert scores_of(engine, "anna")["KP-03"] == {"s2": "4"}

    engine.handle(said("anna", "1111 11"))
    (done,) = engine.handle(said("anna", "4 4 4 4 4 4"))
    assert "Klaar: alle 4 leerlingen zijn ingevuld voor ronde 1 (2026/27)" in done.text
    assert teacher_state(engine, "anna") == (TeacherState.IDLE, None)
    (review,) = engine.handle(said("anna", "/checklist invullen"))
    assert "Alle 4 leerlingen zijn al ingevuld" in review.text
    assert "*KP-01*" in review.text


def test_pause_resume_and_back(engine: Engine) -> None:
    register(engine, "anna")
    open_round(engine)
    engine.handle(said("anna", "/checklist invullen"))
    engine.handle(said("anna", "3 3 3 3 3 3"))
    (on_two,) = engine.handle(said("anna", "1:2"))
    (paused,) = press(engine, "anna", on_two, "later")
    assert "Gepauzeerd: 1 van 4 leerlingen ingevuld" in paused.text
    assert teacher_state(engine, "anna")[0] is TeacherState.PAUSED
    # Any message resumes at the first unfinished pupil.
    (resumed,) = engine.handle(said("anna", "hallo, ik ga verder"))
    assert "*KP-02* · leerling 2 van 4" in resumed.text
    assert "1. van deze leerling was een ouder aanwezig" in resumed.text
    assert "→ *2* (nauwelijks)" in resumed.text
    (back,) = engine.handle(said("anna", "vorige"))
    assert "*KP-01* · leerling 1 van 4" in back.text
    (first,) = engine.handle(said("anna", "vorige"))
    assert "Dit is de eerste leerling" in first.text
    (forward,) = press(engine, "anna", back, "volgende leerling")
    assert "*KP-02*" in forward.text


def test_forged_and_stale_buttons_change_nothing(engine: Engine) -> None:
    register(engine, "anna")
    register(engine, "bram", ("UL-01", "UL-02"))
    open_round(engine)
    (on_one,) = engine.handle(said("anna", "/checklist invullen"))
    (on_two,) = engine.handle(said("anna", "2 2 2 2 2 2"))
    before = scores_of(engine, "anna")

    def anna_score(pupil_payload_from: Outbound, label: str) -> str:
        (button,) = [b for b in pupil_payload_from.buttons if b.label == label]
        return button.payload

    # Malformed or foreign payloads.
    for payload in ("cl:abc", "cl:1:zz:1:1", "cl:1:s:1:1", "qs:1:a:0:0", "cl:" + "9" * 70):
        replies = engine.handle(said("anna", payload=payload))
        assert "niet (meer) geldig" in replies[0].text
    # Bram presses anna's button (forged teacher id): refused, told nothing about anna.
    (forged,) = engine.handle(said("bram", payload=anna_score(on_two, "1: 4")))
    assert "niet (meer) geldig" in forged.text
    assert "KP-" not in forged.text
    # Anna's own button from pupil 1's message while pupil 2 is on screen: stale.
    stale = engine.handle(said("anna", payload=anna_score(on_one, "1: 4")))
    assert "eerder bericht" in stale[0].text
    assert "*KP-02*" in stale[1].text
    # A score option outside the scale, for the pupil on screen.
    action = decode(anna_score(on_two, "1: 4"))
    assert action is not None
    bad = ClAction(
        teacher_id=action.teacher_id,
        verb=ClVerb.SCORE,
        round_id=action.round_id,
        pupil_id=action.pupil_id,
        statement=9,
        option=0,
    )
    (invalid,) = engine.handle(said("anna", payload=bad.encode()))
    assert "niet (meer) geldig" in invalid.text
    # A round id that is not the open round.
    other_round = ClAction(
        teacher_id=action.teacher_id,
        verb=ClVerb.SCORE,
        round_id=action.round_id + 1,
        pupil_id=action.pupil_id,
        statement=1,
        option=3,
    )
    (closed,) = engine.handle(said("anna", payload=other_round.encode()))
    assert "gesloten" in closed.text
    # The erase confirmation without having asked for it.
    wipe = ClAction(teacher_id=action.teacher_id, verb=ClVerb.WIPE)
    assert "eerder bericht" in engine.handle(said("anna", payload=wipe.encode()))[0].text
    # A checklist button pressed in the team channel.
    (channel,) = engine.handle(said("anna", payload=anna_score(on_two, "1: 4"), where=Where.TEAM))
    assert channel.destination.kind is DestinationKind.EPHEMERAL
    assert scores_of(engine, "anna") == before
    assert len(checklists(engine).pupils(teacher_id=action.teacher_id)) == 4

    # After the round closes, the last message's buttons change nothing either.
    engine.handle(said("anna", "/quickscan checklist sluit", where=Where.TEAM))
    (late,) = engine.handle(said("anna", payload=anna_score(on_two, "1: 4")))
    assert "gesloten" in late.text
    (typed,) = engine.handle(said("anna", "/checklist invullen"))
    assert "geen checklistronde" in typed.text


def test_payloads_are_short_and_never_carry_a_label(engine: Engine) -> None:
    register(engine, "anna", ("XYZQ-8b-1234", "KP-02"))
    open_round(engine)
    (message,) = engine.handle(said("anna", "/checklist invullen"))
    (message,) = engine.handle(said("anna", "1 2 3 4 1 2"))
    (message,) = engine.handle(said("anna", "vorige"))
    assert message.buttons
    for button in message.buttons:
        assert len(button.payload.encode()) <= CALLBACK_DATA_MAX_BYTES
        assert button.payload.startswith("cl:")
        assert "XYZQ" not in button.payload
        assert "KP-" not in button.payload
        assert decode(button.payload) is not None


def test_remove_pupil_and_wipe_everything(engine: Engine) -> None:
    register(engine, "anna")
    open_round(engine)
    engine.handle(said("anna", "/checklist invullen"))
    engine.handle(said("anna", "3 3 3 3 3 3"))
    engine.handle(said("anna", "4 4 4 4 4 4"))
    (removed,) = engine.handle(said("anna", "/checklist verwijder KP-01"))
    assert "met alle scores" in removed.text
    assert set(scores_of(engine, "anna")) == {"KP-02"}
    (queued,) = engine.handle(said("anna", "/checklist export"))
    assert queued.file is None  # made at delivery, from the class as stored then
    assert queued.attachment is not None
    assert queued.attachment.kind is AttachmentKind.CHECKLIST_EXPORT
    assert not any(label in repr(queued.attachment) for label in CLASS)
    exported = engine.renderers.render(queued)
    assert exported.file is not None
    assert exported.file.exists()
    first = exported.file.read_bytes()
    again = engine.renderers.render(queued)  # a retried delivery: the same file again
    assert again.file == exported.file
    assert again.file.read_bytes() == first

    (asked,) = engine.handle(said("anna", "/checklist wis"))
    assert "3 leerlingen" in asked.text
    (kept,) = press(engine, "anna", asked, "nee, bewaren")
    assert "niets gewist" in kept.text
    assert len(scores_of(engine, "anna")) == 1
    # Any text instead of the button cancels too.
    (asked,) = engine.handle(said("anna", "/checklist wis"))
    (cancel,) = engine.handle(said("anna", "toch maar niet"))
    assert "niets gewist" in cancel.text
    (asked,) = engine.handle(said("anna", "/checklist wis"))
    (wiped,) = press(engine, "anna", asked, "ja, wis alles")
    assert "gewist (3 leerlingen" in wiped.text
    assert checklists(engine).teachers(key=TEAM) == []
    assert not exported.file.exists()
    with pytest.raises(AttachmentUnavailableError):  # a late delivery recreates nothing
        engine.renderers.render(queued)
    assert not exported.file.exists()
    (again,) = press(engine, "anna", asked, "ja, wis alles")
    assert "niet (meer) geldig" in again.text
    (unbound,) = engine.handle(said("anna", "/checklist leerlingen"))
    assert "/quickscan checklist" in unbound.text


def test_plain_text_goes_to_the_conversation_touched_last(
    engine: Engine, clock: FakeClock
) -> None:
    def tick() -> None:
        clock.advance(seconds=5)

    register(engine, "anna")
    open_round(engine)
    engine.handle(said("anna", "/checklist invullen"))
    tick()
    # A quickscan round starts while anna is scoring: its invitation does not take
    # her typed scores away.
    started = engine.handle(said("anna", "/quickscan start", where=Where.TEAM))
    (invitation,) = [m for m in started if m.destination.user == "anna"]
    tick()
    (saved,) = engine.handle(said("anna", "3 3 3 3 3 3"))
    assert "Opgeslagen voor KP-01" in saved.text
    tick()
    # She starts the quickscan with its button: now plain text is the quickscan's.
    (question,) = press(engine, "anna", invitation, "start")
    assert "vraag 1 van 48" in question.text
    tick()
    (answered,) = engine.handle(said("anna", "+"))
    assert "vraag 2 van 48" in answered.text
    tick()
    # /checklist brings her back, and plain text follows.
    (back,) = engine.handle(said("anna", "/checklist invullen"))
    assert "*KP-02*" in back.text
    tick()
    (saved,) = engine.handle(said("anna", "2 2 2 2 2 2"))
    assert "Opgeslagen voor KP-02" in saved.text
    tick()
    # Paused, the checklist leaves plain text to the waiting quickscan.
    engine.handle(said("anna", "later"))
    tick()
    (quickscan,) = engine.handle(said("anna", "+"))
    assert "vraag 3 van 48" in quickscan.text


def test_a_teacher_in_two_teams(engine: Engine) -> None:
    register(engine, "anna")
    engine.handle(said("anna", "/quickscan checklist", where=Where.TEAM, team=OTHER_TEAM.team))
    engine.handle(said("anna", "/checklist klas\nUL-01\nklaar", team=OTHER_TEAM.team))
    # A DM that names the team goes to that team's class ...
    (first,) = engine.handle(said("anna", "/checklist leerlingen"))
    assert "KP-01" in first.text
    (second,) = engine.handle(said("anna", "/checklist leerlingen", team=OTHER_TEAM.team))
    assert "UL-01" in second.text
    assert "KP-" not in second.text
    # ... one that does not (a platform without a team in DMs) to the most recent one.
    (unnamed,) = engine.handle(said("anna", "/checklist leerlingen", team=""))
    assert "UL-01" in unnamed.text


def test_team_commands_and_roles(engine: Engine, clock: FakeClock) -> None:
    register(engine, "anna")
    register(engine, "bram", ("UL-01",))
    (usage,) = engine.handle(said("anna", "/quickscan checklist start 3", where=Where.TEAM))
    assert "Gebruik: /quickscan checklist start 1|2" in usage.text
    (refused,) = engine.handle(said("bram", "/quickscan checklist start 1", where=Where.TEAM))
    assert "Alleen een coördinator" in refused.text
    (none,) = engine.handle(said("bram", "/quickscan checklist status", where=Where.TEAM))
    assert "Er loopt geen checklistronde. 2 leraren doen mee." in none.text
    (invalid,) = engine.handle(
        said("anna", "/quickscan checklist start 1 31-02", where=Where.TEAM)
    )
    assert "geen geldige datum" in invalid.text
    opened = engine.handle(said("anna", "/quickscan checklist start 1 16-10", where=Where.TEAM))
    channel, *dms = opened
    assert channel.destination.kind is DestinationKind.TEAM
    assert "Deadline: vr 16-10-2026." in channel.text
    assert sorted(m.destination.user or "" for m in dms) == ["anna", "bram"]
    (twice,) = engine.handle(said("anna", "/quickscan checklist start 2", where=Where.TEAM))
    assert "Er loopt nog ronde 1 (2026/27)" in twice.text
    engine.handle(said("bram", "/checklist invullen"))
    engine.handle(said("bram", "1 1 1 1 1 1"))
    (status,) = engine.handle(said("bram", "/quickscan checklist status", where=Where.TEAM))
    assert "2 leraren doen mee · 1 begonnen · 1 klaar" in status.text
    (closed,) = engine.handle(said("anna", "/quickscan checklist sluit", where=Where.TEAM))
    assert "Deelname: 1 van 2 leraren" in closed.text
    (again,) = engine.handle(said("anna", "/quickscan checklist sluit", where=Where.TEAM))
    assert "Er loopt geen checklistronde" in again.text
    (exists,) = engine.handle(said("anna", "/quickscan checklist start 1", where=Where.TEAM))
    assert "al geopend geweest" in exists.text
    (help_text,) = engine.handle(said("bram", "/quickscan checklist help", where=Where.TEAM))
    assert "/quickscan checklist start 1|2" in help_text.text
    (unknown,) = engine.handle(said("bram", "/quickscan checklist foo", where=Where.TEAM))
    assert "'foo' ken ik niet" in unknown.text
