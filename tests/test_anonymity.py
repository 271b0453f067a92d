"""Anonymity that survives collusion and comparison (issue 9; docs/team-result.md).

Each test plays rounds through the engine, collects what the team channel shows,
and checks it against the threat model: a closed round's snapshot never opens
later, at 3 respondents the coordinator plus one colleague cannot recover the
third's answers or grades, comparing two rounds does not expose who joined or
left, open answers count their writers, and the snapshot is storage-safe.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from bot.core.engine import Engine
from bot.results.anonymity import (
    EXACT_MINIMUM,
    Tier,
    coarse_label,
    coarse_safe_scale,
    fingerprints_of,
    multisets,
    pinned_codes,
    pinned_factors,
    scale_groups,
)
from bot.results.distribution import Distribution, distribution
from bot.results.labels import DEFAULT_RULES, Label
from bot.results.merge import merge
from bot.results.report import TeamReport, build_report
from bot.results.service import Results
from bot.results.snapshot import RoundSnapshot
from bot.results.text import render_report
from conversations.core.i18n import Catalogue
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from conversations.instrument import Quickscan, load_instruments
from storage.keys import TeamKey
from storage.models.quickscan import AnswerRow, ParticipationRow, RoundResultRow
from storage.quickscan.records import ParticipationState
from storage.quickscan.store import Store
from storage.results import store as result_store
from storage.results.store import FINGERPRINTS, ResultStore, fingerprint, member_identity
from tests.conftest import FakeClock
from tests.test_team_result import rendered, report_of, result_post, sheet_text


def _quickscan() -> Quickscan:
    instrument = load_instruments()["quickscan-po"]
    assert isinstance(instrument, Quickscan)
    return instrument


INSTRUMENT = _quickscan()
QUICKSCANS = {INSTRUMENT.id: INSTRUMENT}
QUESTIONS = [question.id for question in INSTRUMENT.questions]
CODES = [option.code for option in INSTRUMENT.scale.options]
CLUSTERS = [cluster.id for cluster in INSTRUMENT.clusters]
KEY = TeamKey(platform="console", workspace="w", team="t")


class Roster:
    """The team's members; tests change it between rounds (joiners, leavers)."""

    def __init__(self, users: Sequence[str]) -> None:
        self.users = list(users)

    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user=user, display_name=user.capitalize()) for user in self.users]


@dataclass
class Answers:
    """One member's quickscan: 48 codes, three grades and optional open texts."""

    codes: Sequence[str]
    grades: Sequence[int] = (7, 7, 7)
    texts: Mapping[str, str] | None = None

    def stored(self) -> dict[str, str | None]:
        values: dict[str, str | None] = dict(zip(QUESTIONS, self.codes, strict=True))
        values.update(
            {f"grade:{cid}": str(g) for cid, g in zip(CLUSTERS, self.grades, strict=True)}
        )
        for question_id, text in (self.texts or {}).items():
            values[f"open:{question_id}"] = text
        return values


def uniform(code: str, *, grades: Sequence[int] = (7, 7, 7)) -> Answers:
    return Answers(codes=[code] * len(QUESTIONS), grades=grades)


def randomly(seed: int) -> Answers:
    rng = random.Random(seed)
    return Answers(
        codes=[rng.choice(CODES) for _ in QUESTIONS],
        grades=[rng.randint(1, 10) for _ in CLUSTERS],
    )


class Team:
    """An engine with one team; the first roster member is the coordinator."""

    def __init__(self, *, database_url: str, users: Sequence[str], output_dir: Path) -> None:
        self.store = Store.open(url=database_url)
        self.output_dir = output_dir
        self.roster = Roster(users)
        self.clock = FakeClock(start=FakeClock.default_start())
        self.results = Results(store=self.store, instruments=QUICKSCANS, clock=self.clock)
        self.engine = Engine(
            store=self.store,
            instruments=load_instruments(),
            roster=self.roster,
            clock=self.clock,
            output_dir=output_dir,
        )
        self.coordinator = users[0]
        self.store.ensure_team(key=KEY, founder=self.coordinator, now=self.clock.now())
        self.channel: list[str] = []

    def say(self, text: str, *, user: str | None = None) -> list[Outbound]:
        """A command in the team channel, as delivered; what went to the channel is recorded."""
        sender = user or self.coordinator
        queued = self.engine.handle(
            Inbound(
                platform=KEY.platform,
                workspace=KEY.workspace,
                team=KEY.team,
                where=Where.TEAM,
                sender=Sender(user=sender, display_name=sender.capitalize()),
                text=text,
            )
        )
        replies = rendered(queued, store=self.store, output_dir=self.output_dir)
        for reply in replies:
            if reply.destination.kind is DestinationKind.TEAM:
                self.channel.append(channel_text(reply))
        return replies

    def play(self, answers: Mapping[str, Answers]) -> list[Outbound]:
        """Open a round, submit ``answers`` per member, close it; the close replies."""
        self.clock.advance(days=30)
        self.say("/quickscan start")
        round_ = self.store.current_round(key=KEY)
        assert round_ is not None
        for user, given in answers.items():
            participation = self.store.participation(key=KEY.member(user), round_id=round_.id)
            assert participation is not None
            self.store.save_progress(
                participation_id=participation.id,
                state=ParticipationState.SUBMITTED,
                position=0,
                now=self.clock.now(),
                answers=given.stored(),
                mark_started=True,
                mark_submitted=True,
            )
        self.clock.advance(days=1)
        return self.say("/quickscan sluit")

    def views(self) -> dict[str, list[Outbound]]:
        """Every later view of the latest closed round, as anyone can ask for it."""
        return {
            "grafiek": self.say("/quickscan grafiek", user=self.roster.users[-1]),
            "vragen": self.say("/quickscan grafiek vragen", user=self.roster.users[-1]),
            "export": self.say("/quickscan export"),
        }

    def export_text(self) -> str:
        """The workbook ``/quickscan export`` delivers now, as text (read before the next)."""
        files = [m.file for m in self.say("/quickscan export") if m.file is not None]
        assert len(files) == 1
        return sheet_text(files[0])

    def report(self, post: Outbound) -> TeamReport:
        """What the close post was rendered from: the round's snapshot."""
        return report_of(post, store=self.store, key=KEY)

    def close(self) -> None:
        self.store.close()


def channel_text(message: Outbound) -> str:
    """All a channel message shows: its text, its details, and that it has a picture."""
    parts = [message.text, message.details or ""]
    if message.image is not None:
        parts.append(f"[image {message.image.name}]")
    return "\n".join(parts)


def post_of(replies: Sequence[Outbound]) -> Outbound:
    return result_post(replies)


def public(replies: Sequence[Outbound]) -> list[Outbound]:
    return [reply for reply in replies if reply.destination.kind is DestinationKind.TEAM]


TeamFactory = Callable[[Sequence[str]], Team]


@pytest.fixture
def team_factory(database_url: str, tmp_path: Path) -> Iterator[TeamFactory]:
    """Teams on the test database (SQLite and PostgreSQL), closed afterwards."""
    teams: list[Team] = []

    def make(users: Sequence[str]) -> Team:
        team = Team(database_url=database_url, users=users, output_dir=tmp_path / "out")
        teams.append(team)
        return team

    yield make
    for team in teams:
        team.close()


NAMES = ["anna", "bram", "chris", "dewi", "eva", "fatima", "gijs", "hana"]


# ------------------------------------------------- a closed round never reopens


def test_lowering_the_minimum_after_close_reveals_nothing_of_that_round(
    team_factory: TeamFactory,
) -> None:
    team = team_factory(NAMES[:4])
    answers = {name: randomly(index) for index, name in enumerate(NAMES[:4])}
    post = post_of(team.play(answers))
    assert "pas resultaten per vraag" in post.text
    assert post.details is None
    assert team.report(post).result.tier is Tier.NONE
    seen = list(team.channel)

    team.say("/quickscan minimum 3")
    team.say("/quickscan drempel verdeeld 10")
    after = team.channel[len(seen) :]
    views = team.views()
    for replies in views.values():
        assert public(replies) == []
        assert all(reply.file is None and reply.image is None for reply in replies)
    assert "geen exacte cijfers" in views["export"][0].text
    # Only the settings confirmations reached the channel; no figure of the round.
    assert all("Quickscan per" not in text and "±" not in text for text in after)

    # The next round has exact figures, but no trend from the closed round.
    team.roster.users = NAMES[:6]
    nxt = post_of(team.play({name: randomly(10 + i) for i, name in enumerate(NAMES[:6])}))
    assert team.report(nxt).result.tier is Tier.EXACT
    assert team.report(nxt).trend == ()
    assert "sinds vorige ronde" not in (nxt.details or "")


def test_changed_thresholds_change_nothing_of_a_closed_exact_round(
    team_factory: TeamFactory,
) -> None:
    team = team_factory(NAMES[:6])
    team.play({name: randomly(20 + i) for i, name in enumerate(NAMES[:6])})
    before = team.views()
    before_sheet = team.export_text()
    team.say("/quickscan drempel gaat_goed 20")
    team.say("/quickscan drempel weinig_zicht 90")
    team.say("/quickscan minimum 6")
    after = team.views()
    for name in ("grafiek", "vragen"):
        (old,) = public(before[name])
        (new,) = public(after[name])
        assert old.text == new.text
        assert old.image is not None
        assert new.image is not None
    assert team.export_text() == before_sheet


# ------------------------------------------------ three respondents, two collude

PATTERNS = {
    "colluders ?, target ++": (uniform("?"), uniform("?"), uniform("++", grades=(9, 3, 5))),
    "colluders ++, target --": (uniform("++"), uniform("++"), uniform("--", grades=(1, 2, 3))),
    "colluders ++, target ?": (uniform("++"), uniform("++"), uniform("?")),
    "colluders --, target +/-": (uniform("--"), uniform("-"), uniform("+/-", grades=(10, 10, 1))),
    "colluders +, target random": (uniform("+"), uniform("++"), randomly(3)),
    "all random": (randomly(4), randomly(5), randomly(6)),
}


def _post_text(
    responses: Sequence[Mapping[str, str | None]], *, invited: int, minimum: int
) -> tuple[str, Tier]:
    """What the close post of these answers shows, through the same merge and rendering."""
    result = merge(
        instrument=INSTRUMENT,
        responses=[{k: v for k, v in r.items() if v is not None} for r in responses],
        invited=invited,
        min_respondents=minimum,
        min_text_respondents=5,
    )
    headline, details = render_report(
        report=build_report(instrument=INSTRUMENT, result=result),
        texts=Catalogue(),
    )
    return f"{headline}\n{details or ''}", result.tier


def _alternative(
    *,
    colluders: Sequence[dict[str, str | None]],
    target: dict[str, str | None],
    question: str,
    shown: str,
) -> str | None:
    """Another answer the target may have given to ``question``, given all the channel shows.

    Tries every other code on ``question``, alone or with one compensating change on
    another question of the same factor (the label pools a factor's answers), and
    returns the first whose whole close post is the one the channel showed.
    """
    factor = next(q.factor for q in INSTRUMENT.questions if q.id == question)
    siblings = [q.id for q in INSTRUMENT.questions_of(factor) if q.id != question]
    for code in CODES:
        if code == target[question]:
            continue
        changes: list[dict[str, str | None]] = [{}] + [
            {other: c} for other in siblings for c in CODES if c != target[other]
        ]
        for extra in changes:
            guess = {**target, question: code, **extra}
            text, _tier = _post_text([*colluders, guess], invited=3, minimum=3)
            if text == shown:
                return code
    return None


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_at_three_respondents_two_colluders_cannot_recover_the_third(
    team_factory: TeamFactory,
    pattern: str,
) -> None:
    team = team_factory(["anna", "bram", "chris"])
    team.say("/quickscan minimum 3")
    anna, bram, chris = PATTERNS[pattern]
    closing = team.play({"anna": anna, "bram": bram, "chris": chris})
    post = post_of(closing)
    assert public(closing) == [post]
    views = team.views()
    assert team.report(post).result.tier is Tier.COARSE
    # Everything public: the close post is all; charts and export are refused privately.
    for replies in views.values():
        assert public(replies) == []
    shown = "\n".join(team.channel)
    close = channel_text(post)
    assert close in shown
    assert post.image is None
    assert "±" not in close

    colluders = [anna.stored(), bram.stored()]
    target = chris.stored()
    # The engine's post is exactly what the pure pipeline renders for the true answers,
    # so the brute force below searches over what the channel really shows.
    rendered, tier = _post_text([*colluders, target], invited=3, minimum=3)
    assert tier is Tier.COARSE
    assert rendered == close
    for question in QUESTIONS:
        other = _alternative(colluders=colluders, target=target, question=question, shown=rendered)
        assert other is not None, f"{pattern}: the answer to {question} is pinned"
    for cluster in CLUSTERS:
        for grade in (1, 10):
            guess = {**target, f"grade:{cluster}": str(grade)}
            text, _tier = _post_text([*colluders, guess], invited=3, minimum=3)
            assert text == rendered, f"{pattern}: a grade of {cluster} shows"


def test_the_coarse_check_finds_what_exact_labels_would_pin() -> None:
    # Factor 2 has 4 questions. Two colleagues who answered no "?" and see
    # "weinig zicht" know the third answered "?" to all four: the exact label pins.
    options = INSTRUMENT.scale.options

    def exact(counts: Mapping[str, int]) -> Label:
        answers: Distribution = distribution(counts=counts, options=options)
        return answers.label(rules=DEFAULT_RULES)

    others = {"++": 4, "+": 4}
    assert pinned_codes(others=others, target={"?": 4}, codes=CODES, label_of=exact) == "?"
    groups = scale_groups(options)

    def coarse(counts: Mapping[str, int]) -> Label:
        return coarse_label(counts=counts, groups=groups, rules=DEFAULT_RULES)

    assert pinned_codes(others=others, target={"?": 4}, codes=CODES, label_of=coarse) is None
    assert coarse_safe_scale(options)


def test_a_coarse_label_of_nothing_answered_is_weinig_zicht() -> None:
    groups = scale_groups(INSTRUMENT.scale.options)
    assert coarse_label(counts={}, groups=groups, rules=DEFAULT_RULES) is Label.WEINIG_ZICHT
    assert (
        coarse_label(counts=dict.fromkeys(CODES, 0), groups=groups, rules=DEFAULT_RULES)
        is Label.WEINIG_ZICHT
    )
    # Only "?" and "+/-" answered is still "gemengd": the coarse tier cannot tell them apart.
    assert coarse_label(counts={"?": 3}, groups=groups, rules=DEFAULT_RULES) is Label.GEMENGD


def test_coarse_labels_never_pin_anyone_for_any_small_group() -> None:
    groups = scale_groups(INSTRUMENT.scale.options)

    def coarse(counts: Mapping[str, int]) -> Label:
        return coarse_label(counts=counts, groups=groups, rules=DEFAULT_RULES)

    # Exhaustive over every pooled answer set of two known colleagues and every
    # answer set of the third, on a factor of two questions (factor 4).
    for others in multisets(CODES, 4):
        for target in multisets(CODES, 2):
            assert pinned_codes(others=others, target=target, codes=CODES, label_of=coarse) is None
    rng = random.Random(9)
    responses = [{q: rng.choice(CODES) for q in QUESTIONS} for _ in range(EXACT_MINIMUM - 1)]
    assert pinned_factors(instrument=INSTRUMENT, responses=responses, label_of=coarse) == set()


# ------------------------------------------------------ round-to-round comparison


def test_one_joiner_between_two_rounds_is_not_exposed(team_factory: TeamFactory) -> None:
    team = team_factory(NAMES[:5])
    answers = {name: randomly(30 + i) for i, name in enumerate(NAMES[:5])}
    first = post_of(team.play(answers))
    assert team.report(first).result.tier is Tier.EXACT

    team.roster.users = NAMES[:6]
    second = post_of(team.play({**answers, "fatima": uniform("--")}))
    result = team.report(second).result
    assert result.tier is Tier.COARSE
    assert result.compared
    assert team.report(second).trend == ()
    assert second.details is None
    assert "minder dan 5 personen" in second.text
    assert "sinds vorige ronde" not in second.text
    assert "±" not in second.text
    for replies in team.views().values():
        assert public(replies) == []


def test_one_leaver_between_two_rounds_is_not_exposed(team_factory: TeamFactory) -> None:
    team = team_factory(NAMES[:6])
    answers = {name: randomly(40 + i) for i, name in enumerate(NAMES[:6])}
    post_of(team.play(answers))
    team.roster.users = NAMES[:5]
    answers.pop("fatima")
    second = post_of(team.play(answers))
    assert team.report(second).result.tier is Tier.NONE
    assert team.report(second).result.labels_withheld
    assert "alleen de deelname" in second.text
    for label in ("gaat goed", "werkpunt", "verdeeld", "gemengd"):
        assert label not in second.text


def test_a_changed_team_of_at_least_the_minimum_gets_exact_figures_and_no_false_trend(
    team_factory: TeamFactory,
) -> None:
    team = team_factory(NAMES[:5])
    post_of(team.play({name: randomly(50 + i) for i, name in enumerate(NAMES[:5])}))
    # Same five again: exact, with the trend.
    same = post_of(team.play({name: randomly(60 + i) for i, name in enumerate(NAMES[:5])}))
    assert team.report(same).result.tier is Tier.EXACT
    assert team.report(same).trend != ()
    assert "sinds vorige ronde" in (same.details or "")
    # Five others: the difference (10) is far above the minimum (5): exact again.
    team.roster.users = NAMES[:8] + ["ines", "joost"]
    others = ["fatima", "gijs", "hana", "ines", "joost"]
    fresh = post_of(team.play({name: randomly(70 + i) for i, name in enumerate(others)}))
    assert team.report(fresh).result.tier is Tier.EXACT


def test_three_joiners_are_not_exposed_in_a_team_with_minimum_three(
    team_factory: TeamFactory,
) -> None:
    """Two exact posts differing by three people are exact figures of those three."""
    team = team_factory(NAMES[:6])
    team.say("/quickscan minimum 3")
    answers = {name: randomly(90 + i) for i, name in enumerate(NAMES[:6])}
    first = post_of(team.play(answers))
    assert team.report(first).result.tier is Tier.EXACT

    team.roster.users = [*NAMES, "ines"]
    joined = {"gijs": uniform("++"), "hana": uniform("++"), "ines": uniform("--")}
    second = post_of(team.play({**answers, **joined}))
    assert team.report(second).result.tier is Tier.COARSE
    assert team.report(second).result.compared
    assert team.report(second).trend == ()
    assert "minder dan 5 personen" in second.text
    for replies in team.views().values():
        assert public(replies) == []


def test_forgetting_a_member_keeps_the_figures_and_stays_on_the_safe_side(
    team_factory: TeamFactory,
) -> None:
    team = team_factory(NAMES[:6])
    answers = {name: randomly(80 + i) for i, name in enumerate(NAMES[:6])}
    first = post_of(team.play(answers))
    round_id = team.store.closed_rounds(key=KEY, instrument_id=INSTRUMENT.id)[-1].id
    results = ResultStore(engine=team.store.engine)
    before = results.load(key=KEY, round_id=round_id)
    assert before is not None
    assert results.forget_member(platform="console", workspace="w", user="fatima") == 1
    assert results.forget_member(platform="console", workspace="w", user="fatima") == 0
    after = results.load(key=KEY, round_id=round_id)
    assert after is not None
    old, new = RoundSnapshot.from_json(before), RoundSnapshot.from_json(after)
    assert old.fingerprints is not None
    assert new.fingerprints is not None
    assert len(new.fingerprints.hashes) == len(old.fingerprints.hashes) - 1
    assert new.fingerprints.forgotten == 1
    assert new.item_counts == old.item_counts
    assert "fatima" not in after
    # fatima might have left: a round of the other five shows participation only.
    answers.pop("fatima")
    second = post_of(team.play(answers))
    assert team.report(second).result.labels_withheld
    assert team.report(first).result.tier is Tier.EXACT  # the first round's figures stay


# --------------------------------------------------------------- open answers


def test_open_answers_count_the_people_who_wrote_one(team_factory: TeamFactory) -> None:
    team = team_factory(NAMES[:7])
    answers = {name: randomly(90 + i) for i, name in enumerate(NAMES[:7])}
    for name in NAMES[:4]:
        answers[name].texts = {"priority": f"Huiswerk samen bespreken ({name[0]})"}
    answers["eva"].texts = {"support": "Een studiemiddag"}
    post = post_of(team.play(answers))
    assert team.report(post).result.tier is Tier.EXACT
    details = post.details or ""
    # 7 respondents, but only 4 wrote a priority: neither texts nor mentions show.
    assert "Huiswerk samen" not in details
    assert "noemen dit zelf" not in post.text
    assert "Een studiemiddag" not in details

    for name in NAMES[:5]:
        answers[name].texts = {"priority": f"Huiswerk samen bespreken ({name[0]})"}
    again = post_of(team.play(answers))
    assert "Huiswerk samen bespreken (a)" in (again.details or "")
    assert team.report(again).result.priority_mentions.get(6) == 5


# ------------------------------------------------------------- the snapshot


def test_the_snapshot_survives_the_deletion_of_the_answers(team_factory: TeamFactory) -> None:
    team = team_factory(NAMES[:6])
    team.play({name: randomly(100 + i) for i, name in enumerate(NAMES[:6])})
    before = team.views()
    before_sheet = team.export_text()
    round_id = team.store.closed_rounds(key=KEY, instrument_id=INSTRUMENT.id)[-1].id
    with team.store.engine.begin() as connection:
        ids = select(ParticipationRow.id).where(ParticipationRow.round_id == round_id)
        connection.execute(delete(AnswerRow).where(AnswerRow.participation_id.in_(ids)))
        connection.execute(delete(ParticipationRow).where(ParticipationRow.round_id == round_id))
    after = team.views()
    (old,), (new,) = public(before["vragen"]), public(after["vragen"])
    assert old.text == new.text
    assert team.export_text() == before_sheet
    # And the next round's trend still reads it.
    nxt = post_of(team.play({name: randomly(110 + i) for i, name in enumerate(NAMES[:6])}))
    assert team.report(nxt).trend != ()


def test_two_concurrent_snapshot_saves_keep_one(database_url: str, clock: FakeClock) -> None:
    first, second = Store.open(url=database_url), Store.open(url=database_url)
    try:
        first.ensure_team(key=KEY, founder="anna", now=clock.now())
        round_ = first.open_round(
            key=KEY, instrument_id=INSTRUMENT.id, opened_by="anna", deadline=None, now=clock.now()
        )
        stores = [ResultStore(engine=first.engine), ResultStore(engine=second.engine)]
        barrier = threading.Barrier(2)
        outcomes: list[bool] = []

        def save(index: int) -> None:
            barrier.wait()
            outcomes.append(
                stores[index].save_if_absent(
                    round_id=round_.id, snapshot=f'{{"by": {index}}}', now=clock.now()
                )
            )

        threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == [False, True]
        with first.engine.begin() as connection:
            rows = connection.execute(select(RoundResultRow.snapshot)).scalars().all()
        assert len(rows) == 1
        assert stores[1].load(key=KEY, round_id=round_.id) == rows[0]
        assert stores[0].has_snapshot(round_id=round_.id)
        assert not stores[0].has_snapshot(round_id=round_.id + 1)
    finally:
        first.close()
        second.close()


def test_two_members_forgotten_at_once_both_leave_the_snapshot(
    database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes erase two members: neither write brings the other's fingerprint back.

    On PostgreSQL chris's erasure commits between bram's read and write (the
    compare-and-set must notice). SQLite serialises writers (``BEGIN IMMEDIATE``),
    so there chris's erasure, started at the same moment, waits for bram's.
    """
    first, second = Store.open(url=database_url), Store.open(url=database_url)
    try:
        first.ensure_team(key=KEY, founder="anna", now=clock.now())
        round_ = first.open_round(
            key=KEY, instrument_id=INSTRUMENT.id, opened_by="anna", deadline=None, now=clock.now()
        )
        members = {
            name: member_identity(platform=KEY.platform, workspace=KEY.workspace, user=name)
            for name in ("bram", "chris", "dewi")
        }
        prints = fingerprints_of(list(members.values()))
        stored = {
            FINGERPRINTS: {"salt": prints.salt, "hashes": sorted(prints.hashes), "forgotten": 0}
        }
        ResultStore(engine=first.engine).save_if_absent(
            round_id=round_.id, snapshot=json.dumps(stored), now=clock.now()
        )
        other = ResultStore(engine=second.engine)
        remove = result_store._without
        interleaved: list[str] = []

        waiting: list[threading.Thread] = []

        def erase_chris() -> None:
            other.forget_member(platform=KEY.platform, workspace=KEY.workspace, user="chris")

        def chris_erased_meanwhile(stored: str, *, member: str) -> str | None:
            if not interleaved:  # bram's erasure has read the snapshot
                interleaved.append(member)
                if first.engine.dialect.name == "sqlite":
                    waiting.append(threading.Thread(target=erase_chris))
                    waiting[0].start()
                else:
                    erase_chris()
            return remove(stored, member=member)

        monkeypatch.setattr(result_store, "_without", chris_erased_meanwhile)
        mine = ResultStore(engine=first.engine)
        assert mine.forget_member(platform=KEY.platform, workspace=KEY.workspace, user="bram") == 1
        for thread in waiting:
            thread.join()

        loaded = mine.load(key=KEY, round_id=round_.id)
        assert loaded is not None
        left = json.loads(loaded)[FINGERPRINTS]
        assert left["hashes"] == [fingerprint(salt=prints.salt, member=members["dewi"])]
        assert left["forgotten"] == 2
    finally:
        first.close()
        second.close()


def test_a_legacy_round_is_frozen_under_the_stricter_minimum(team_factory: TeamFactory) -> None:
    team = team_factory(NAMES[:4])
    team.say("/quickscan minimum 3")
    post = post_of(team.play({name: randomly(120 + i) for i, name in enumerate(NAMES[:4])}))
    assert team.report(post).result.tier is Tier.COARSE
    # Pretend the round closed before snapshots existed.
    with team.store.engine.begin() as connection:
        connection.execute(delete(RoundResultRow))
    round_ = team.store.closed_rounds(key=KEY, instrument_id=INSTRUMENT.id)[-1]
    settings = team.store.get_team(key=KEY)
    assert settings is not None
    team.results.ensure_snapshot(team=settings, round_=round_)
    team.results.ensure_snapshot(team=settings, round_=round_)
    team.say("/quickscan start")
    still_open = team.store.current_round(key=KEY)
    assert still_open is not None
    with pytest.raises(ValueError, match="still open"):
        team.results.ensure_snapshot(team=settings, round_=still_open)
    stored = ResultStore(engine=team.store.engine).load(key=KEY, round_id=round_.id)
    assert stored is not None
    snapshot = RoundSnapshot.from_json(stored)
    assert snapshot.legacy
    assert snapshot.min_respondents == 5
    assert snapshot.tier is Tier.NONE


def test_snapshot_json_round_trips() -> None:
    rng = random.Random(5)
    responses = [{q: rng.choice(CODES) for q in QUESTIONS} for _ in range(6)]
    result = merge(
        instrument=INSTRUMENT,
        responses=responses,
        invited=7,
        min_respondents=5,
        min_text_respondents=5,
    )
    snapshot = RoundSnapshot.of(
        result=result, min_text_respondents=5, trend=(), fingerprints=None, legacy=False
    )
    again = RoundSnapshot.from_json(snapshot.to_json())
    assert again == snapshot
    rebuilt = again.result(instrument=INSTRUMENT)
    assert [i.distribution for i in rebuilt.items()] == [i.distribution for i in result.items()]
    assert [i.label for i in rebuilt.items()] == [i.label for i in result.items()]
    assert list(itertools.chain(rebuilt.clusters)) == list(result.clusters)
