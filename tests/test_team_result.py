"""The team result: labels, priorities and their reasons, trend, and what never leaks."""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands.routes import command_renderers
from bot.core.engine import Engine
from bot.delivery.attachments import AttachmentRenderers
from bot.results.labels import DEFAULT_RULES, Label, LabelRules, classify
from bot.results.merge import merge
from bot.results.priorities import suggest
from bot.results.report import TeamReport, build_report
from bot.results.snapshot import RoundSnapshot
from bot.results.team_result import ItemResult, TeamResult
from bot.results.text import render_report
from bot.results.trend import compare
from conversations.core.i18n import Catalogue
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from conversations.instrument import Quickscan, load_instruments
from storage.keys import TeamKey
from storage.quickscan.records import ParticipationState
from storage.quickscan.store import Store
from storage.results.store import ResultStore
from tests.conftest import FakeClock

INSTRUMENT = load_instruments()["quickscan-po"]
assert isinstance(INSTRUMENT, Quickscan)
QUICKSCANS = {INSTRUMENT.id: INSTRUMENT}
KEY = TeamKey(platform="console", workspace="w", team="t")
QUESTIONS = [question.id for question in INSTRUMENT.questions]
CODES = [option.code for option in INSTRUMENT.scale.options]


def respondents(
    columns: Mapping[str, Sequence[str]], *, base: str = "+", count: int
) -> list[dict[str, str]]:
    """``count`` responses answering ``base`` everywhere except the given item columns."""
    responses = []
    for index in range(count):
        response = dict.fromkeys(QUESTIONS, base)
        for item, answers in columns.items():
            response[item] = answers[index]
        responses.append(response)
    return responses


def merged(responses: list[dict[str, str]], *, rules: LabelRules = DEFAULT_RULES) -> TeamResult:
    return merge(
        instrument=INSTRUMENT,
        responses=responses,
        invited=len(responses),
        min_respondents=5,
        min_text_respondents=5,
        rules=rules,
    )


def item(result: TeamResult, question_id: str) -> ItemResult:
    return next(i for i in result.items() if i.question_id == question_id)


# ------------------------------------------------------------------- labels


def test_each_label_on_an_item_built_to_produce_it() -> None:
    result = merged(
        respondents(
            {
                # 4 of 10 answered "?": at least 30 % -> weinig zicht
                "q01": ["?", "?", "?", "?", "++", "+", "+", "-", "+", "+"],
                # 4 positive and 4 negative of 10 scored -> verdeeld
                "q02": ["++", "+", "+", "++", "-", "--", "-", "-", "+/-", "+/-"],
                # 8 of 10 positive, 1 negative -> gaat goed
                "q03": ["++", "+", "+", "+", "++", "+", "+", "+", "-", "+/-"],
                # 6 of 10 negative, 2 positive -> werkpunt (neither divided: 20 % positive)
                "q04": ["--", "-", "-", "--", "-", "-", "+", "+", "+/-", "+/-"],
                # 7 of 10 "+/-": agreement on the middle -> eens: redelijk
                "q05": ["+/-", "+/-", "+/-", "+/-", "+", "+", "-", "+/-", "+/-", "+/-"],
                # mean 2.5 with few negatives: werkpunt through the mean rule
                "q06": ["+/-", "+/-", "+/-", "+/-", "+/-", "-", "--", "--", "+/-", "+/-"],
                # 5 "+/-", 3 positive, 2 negative: no rule -> gemengd
                "q07": ["+/-", "+/-", "+/-", "+/-", "+/-", "+", "+", "++", "-", "--"],
            },
            count=10,
        )
    )
    assert item(result, "q01").label is Label.WEINIG_ZICHT
    assert item(result, "q02").label is Label.VERDEELD
    assert item(result, "q03").label is Label.GAAT_GOED
    assert item(result, "q04").label is Label.WERKPUNT
    assert item(result, "q05").label is Label.EENS_REDELIJK
    assert item(result, "q07").label is Label.GEMENGD
    q06 = item(result, "q06").distribution
    assert q06.negative_share < 0.5
    assert q06.mean is not None
    assert q06.mean <= 2.5
    assert item(result, "q06").label is Label.WERKPUNT


def test_rules_apply_in_order_and_are_adjustable() -> None:
    # Both "weinig zicht" and "verdeeld" match: the first rule wins.
    assert (
        classify(
            respondents=10, unknown_share=0.4, positive_share=0.5, negative_share=0.5, mean=3.0
        )
        is Label.WEINIG_ZICHT
    )
    # A stricter team setting turns "gaat goed" into "gemengd".
    strict = LabelRules.from_mapping({"gaat_goed": 0.9, "ignored": 1.0})
    assert (
        classify(
            respondents=10,
            unknown_share=0.0,
            positive_share=0.8,
            negative_share=0.0,
            mean=4.0,
            rules=strict,
        )
        is Label.GEMENGD
    )
    assert (
        classify(respondents=0, unknown_share=0.0, positive_share=0, negative_share=0, mean=None)
        is Label.WEINIG_ZICHT
    )


def test_spread_is_shown_beside_the_mean() -> None:
    agree = merged(respondents({"q07": ["+/-"] * 6}, count=6))
    split = merged(respondents({"q07": ["++", "++", "++", "--", "--", "--"]}, count=6))
    assert item(agree, "q07").distribution.mean == item(split, "q07").distribution.mean == 3.0
    assert item(agree, "q07").distribution.stdev == 0.0
    assert item(split, "q07").distribution.stdev == pytest.approx(2.0)
    headline, details = render_report(
        report=build_report(instrument=INSTRUMENT, result=split),
        texts=Catalogue(),
    )
    assert details is not None
    assert "3,0 ± 2,0" in details


# --------------------------------------------------------------- priorities


def factor_answers(answers: Mapping[int, Sequence[str]], count: int) -> list[dict[str, str]]:
    """Responses where every item of a listed factor gets the per-respondent answer."""
    columns = {
        question.id: answers[question.factor]
        for question in INSTRUMENT.questions
        if question.factor in answers
    }
    return respondents(columns, count=count)


def test_a_clearly_worst_factor_comes_first_with_its_reason() -> None:
    responses = factor_answers(
        {
            9: ["--", "-", "-", "--", "-", "-", "--", "+/-", "+"],  # 7 of 9 negative
            2: ["-", "-", "-", "+/-", "+", "+", "+", "+", "+"],  # 3 of 9 negative
        },
        count=9,
    )
    suggestions = suggest(instrument=INSTRUMENT, result=merged(responses))
    numbers = [priority.factor.number for priority in suggestions.priorities]
    assert numbers[:2] == [9, 2]
    top = suggestions.priorities[0]
    assert top.evidence.number == 42  # the first question of factor 9
    assert top.evidence.distribution.negative == 7
    assert top.evidence.distribution.respondents == 9
    headline, _details = render_report(
        report=build_report(instrument=INSTRUMENT, result=merged(responses)),
        texts=Catalogue(),
    )
    assert "Waarom: de meeste antwoorden zijn - of -- (21 van 27); gemiddeld 2,0" in headline
    assert (
        "Het duidelijkst bij 'Maken leerkrachten praktische afspraken over hoe leerling, ouders "
        "en school bij kunnen dragen aan ontwikkelpunten?' (7 van 9 collega's: - of --)."
    ) in headline


def test_a_tie_between_factor_2_and_factor_6_goes_to_2() -> None:
    same = ["-", "-", "-", "+", "+", "+/-"]
    responses = factor_answers({2: same, 6: same}, count=6)
    result = merged(responses)
    two = next(f for f in result.factors() if f.number == 2)
    six = next(f for f in result.factors() if f.number == 6)
    assert two.distribution.negative_share == six.distribution.negative_share
    numbers = [p.factor.number for p in suggest(instrument=INSTRUMENT, result=result).priorities]
    assert numbers.index(2) < numbers.index(6)
    first = suggest(instrument=INSTRUMENT, result=result).priorities[0]
    assert first.factor.tool == "het kennismakingsgesprek"
    assert first.factor.first_step


def _priority_writers(writers: int) -> tuple[TeamResult, str]:
    """Six respondents; ``writers`` of them name homework (factor 6) as their priority."""
    same = ["-", "-", "-", "+", "+", "+/-"]
    responses = factor_answers({4: same, 6: same}, count=6)
    for response in responses[:writers]:
        response["open:priority"] = "Meer aandacht voor huiswerk en thuisopdrachten"
    result = merged(responses)
    headline, _ = render_report(
        report=build_report(instrument=INSTRUMENT, result=result),
        texts=Catalogue(),
    )
    return result, headline


def test_own_priority_answers_weigh_in() -> None:
    result, headline = _priority_writers(5)
    assert result.priority_mentions[6] == 5
    numbers = [p.factor.number for p in suggest(instrument=INSTRUMENT, result=result).priorities]
    assert numbers.index(6) < numbers.index(4)
    assert "5 collega's noemen dit zelf als prioriteit" in headline


def test_priority_mentions_need_enough_people_who_wrote_a_priority() -> None:
    result, headline = _priority_writers(4)
    assert result.priority_mentions == {}
    assert result.open_answers == {}
    assert "noemen dit zelf" not in headline


def test_discuss_and_investigate_lists_and_follow_up_questions() -> None:
    responses = respondents(
        {
            "q10": ["++", "++", "+", "--", "-", "-"],
            "q20": ["?", "?", "?", "+", "+", "+"],
        },
        count=6,
    )
    result = merged(responses)
    report = build_report(instrument=INSTRUMENT, result=result)
    assert [i.number for i in report.suggestions.discuss] == [10]
    assert [i.number for i in report.suggestions.investigate] == [20]
    _headline, details = render_report(report=report, texts=Catalogue())
    assert details is not None
    assert "*Bespreek in het team*" in details
    assert "• 10. Is duidelijk welke formele en informele contacten" in details
    assert "(3 positief, 3 negatief)" in details
    assert "*Zoek uit*" in details
    assert (
        "(3 van 6 antwoorden ?): vraag het de 3 collega's die er wel zicht op hebben,"
        " of zoek het uit met de checklist oudercontact\n"
    ) in details
    assert details.rstrip().endswith("Wat is een goede eerste stap in de verbetering?")


def test_free_text_hidden_below_the_text_threshold() -> None:
    responses = respondents({}, count=5)
    for response in responses:
        response["open:priority"] = "Oudercursus organiseren"
    shown = merge(
        instrument=INSTRUMENT,
        responses=responses,
        invited=5,
        min_respondents=5,
        min_text_respondents=5,
    )
    hidden = merge(
        instrument=INSTRUMENT,
        responses=responses,
        invited=5,
        min_respondents=5,
        min_text_respondents=6,
    )
    for result, visible in ((shown, True), (hidden, False)):
        _headline, details = render_report(
            report=build_report(instrument=INSTRUMENT, result=result),
            texts=Catalogue(),
        )
        assert details is not None
        assert ("Oudercursus organiseren" in details) is visible


def test_trend_since_the_previous_round() -> None:
    before = merged(factor_answers({1: ["-", "-", "-", "+/-", "+/-", "+/-"]}, count=6))
    after = merged(factor_answers({1: ["+", "+", "++", "+", "+/-", "+"]}, count=6))
    changes = {change.number: change for change in compare(previous=before, current=after)}
    after_mean, before_mean = (
        after.factors()[0].distribution.mean,
        before.factors()[0].distribution.mean,
    )
    assert after_mean is not None
    assert before_mean is not None
    assert changes[1].delta == pytest.approx(after_mean - before_mean)
    assert changes[1].label_changed
    _headline, details = render_report(
        report=build_report(
            instrument=INSTRUMENT,
            result=after,
            trend=compare(previous=before, current=after),
        ),
        texts=Catalogue(),
    )
    assert details is not None
    assert re.search(r"1\. welkom: .*\(sinds vorige ronde \+1,\d; was werkpunt\)", details)


# ------------------------------------------------ nothing leaks (property test)

_CORPUS = (
    " ".join(q.text for q in INSTRUMENT.questions)
    + " ".join(f.short_name + f.sentence + (f.first_step or "") for f in INSTRUMENT.factors)
    + (Path(__file__).parents[1] / "conversations/core/locale/nl.toml").read_text("utf-8")
).lower()
names = st.from_regex(r"[A-Z][a-z]{4,9}", fullmatch=True).filter(
    lambda n: n.lower() not in _CORPUS
)
response_sets = st.lists(
    st.tuples(
        names,
        st.lists(st.sampled_from(CODES), min_size=48, max_size=48),
        st.integers(min_value=1, max_value=10),
    ),
    min_size=3,
    max_size=9,
    unique_by=lambda row: row[0],
)


class Roster:
    def __init__(self, people: Sequence[tuple[str, str]]) -> None:
        self.people = people

    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user=user, display_name=name) for user, name in self.people]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=response_sets)
def test_random_answer_sets_add_up_and_never_name_anyone(
    rows: list[tuple[str, list[str], int]],
) -> None:
    people = [(f"U{index:03d}{name.upper()}", name) for index, (name, _a, _g) in enumerate(rows)]
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(url=f"sqlite:///{Path(folder) / 'prop.sqlite3'}")
        out = Path(folder) / "out"
        try:
            engine = Engine(
                store=store,
                instruments=load_instruments(),
                roster=Roster(people),
                clock=FakeClock(start=FakeClock.default_start()),
                output_dir=out,
            )
            outputs = rendered(run_round(engine, people, rows), store=store, output_dir=out)
            sheets = [sheet_text(m.file) for m in outputs if m.file is not None]
            result = report_of(result_post(outputs), store=store, key=KEY).result
        finally:
            store.close()
    assert result.respondents == len(rows)
    if result.itemised:
        for answers in result.items():
            distribution = answers.distribution
            assert sum(distribution.counts.values()) == distribution.respondents == len(rows)
            assert sum(distribution.share(code) for code in CODES) == pytest.approx(1.0)
    texts = [m.text for m in outputs] + [m.details or "" for m in outputs]
    texts += sheets
    everything = "\n".join(texts)
    for user, name in people:
        assert user not in everything
        assert re.search(rf"\b{re.escape(name)}\b", everything) is None


def run_round(
    engine: Engine, people: list[tuple[str, str]], rows: list[tuple[str, list[str], int]]
) -> list[Outbound]:
    key = KEY
    coordinator = Sender(user="coordinator-0", display_name="De coördinator")

    def team(text: str) -> list[Outbound]:
        return engine.handle(
            Inbound(
                platform=key.platform,
                workspace=key.workspace,
                team=key.team,
                where=Where.TEAM,
                sender=coordinator,
                text=text,
            )
        )

    team("/quickscan start")
    now = FakeClock.default_start()
    for (user, _name), (_n, answers, grade) in zip(people, rows, strict=True):
        participation = engine.store.participation(key=key.member(user), round_id=1)
        assert participation is not None
        given_answers: dict[str, str | None] = dict(zip(QUESTIONS, answers, strict=True))
        given_answers.update({f"grade:{c.id}": str(grade) for c in INSTRUMENT.clusters})
        given_answers["open:priority"] = "Meer kennismakingsgesprekken"
        engine.store.save_progress(
            participation_id=participation.id,
            state=ParticipationState.SUBMITTED,
            position=0,
            now=now,
            answers=given_answers,
            mark_started=True,
            mark_submitted=True,
        )
    outputs = team("/quickscan status") + team("/quickscan sluit") + team("/quickscan export")
    assert all(
        m.destination.kind is not DestinationKind.DM or m.destination.user == coordinator.user
        for m in outputs
    )
    return outputs


# ------------------------------------------------------------- shared helpers


def rendered(messages: Sequence[Outbound], *, store: Store, output_dir: Path) -> list[Outbound]:
    """The messages as delivered: each attachment made into its file by its renderer.

    The engine only queues a chart or export (an attachment); the delivery draws it
    from the snapshot when it sends the message. This is that step, through the
    delivery's registry with the renderers the commands export.
    """
    registry = AttachmentRenderers()
    renderers = command_renderers(store=store, instruments=QUICKSCANS, output_dir=output_dir)
    for kind, render in renderers.items():
        registry.register(kind=kind, render=render)
    return [registry.render(message) for message in messages]


def result_post(messages: Sequence[Outbound]) -> Outbound:
    """The close post among the messages (keyed by its round, so it is queued once)."""
    return next(m for m in messages if m.key is not None and m.key.startswith("result:"))


def report_of(post: Outbound, *, store: Store, key: TeamKey) -> TeamReport:
    """The report a close post shows, from the round's frozen snapshot.

    The post carries text only (a message is a row in the outbox); what it was
    rendered from is the snapshot, the only source of every later view too. Open
    answer texts are not in it: they are shown once, in the post.
    """
    assert post.key is not None
    round_id = int(post.key.removeprefix("result:"))
    stored = ResultStore(engine=store.engine).load(key=key, round_id=round_id)
    assert stored is not None
    snapshot = RoundSnapshot.from_json(stored)
    instrument = QUICKSCANS[snapshot.instrument_id]
    result = snapshot.result(instrument=instrument)
    return build_report(
        instrument=instrument, result=result, trend=snapshot.changes(current=result)
    )


def sheet_text(path: Path) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    return "\n".join(
        str(cell)
        for sheet in workbook
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    )
