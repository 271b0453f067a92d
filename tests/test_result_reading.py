"""Reading the team result at a team meeting (issue 12).

The headline names the success factors per label; agreement on a middling answer
is its own label ("eens: redelijk"); every priority carries reasons that are true
and documented; "zoek uit" items get a next step; the private intro asks to answer
independently and shows the aspect model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.results.anonymity import Tier
from bot.results.export import export_workbook
from bot.results.labels import Label, LabelRules, classify
from bot.results.merge import merge
from bot.results.priorities import (
    SUPPORTING,
    Reason,
    ReasonKind,
    reasons,
    suggest,
)
from bot.results.report import build_report
from bot.results.snapshot import RoundSnapshot
from bot.results.team_result import TeamResult
from bot.results.text import render_report
from bot.results.trend import compare
from conversations.core.i18n import Catalogue
from conversations.core.messages import DestinationKind, Outbound, Where
from conversations.instrument import Aspect, Quickscan
from conversations.quickscan.prompts import Turn, aspect_model, invitation
from tests.test_merge import SMALL
from tests.test_team_result import INSTRUMENT, factor_answers, merged, respondents
from tests.testbot import TestBot

NL = Catalogue("nl")
EN = Catalogue("en")
DOCS = (Path(__file__).parents[1] / "docs" / "team-result.md").read_text(encoding="utf-8")
CODES = [option.code for option in INSTRUMENT.scale.options]


def render(result: TeamResult, texts: Catalogue = NL) -> tuple[str, str | None]:
    return render_report(report=build_report(instrument=INSTRUMENT, result=result), texts=texts)


def factor(result: TeamResult, number: int) -> Label:
    return next(f.label for f in result.factors() if f.number == number)


# --------------------------------------------------------- eens: redelijk


def test_a_unanimous_middle_answer_is_agreement_not_mixed() -> None:
    """The issue's case: everyone answers +/- to factor 7; it was "gemengd", priority 3
    with the reason "0 % negatief". Now it reads "eens: redelijk" and its reason says why."""
    responses = factor_answers(
        {
            9: ["--", "-", "-", "--", "-", "-", "--", "+/-", "+"],
            2: ["-", "-", "-", "+/-", "+", "+", "+", "+", "+"],
            7: ["+/-"] * 9,
        },
        count=9,
    )
    result = merged(responses)
    assert factor(result, 7) is Label.EENS_REDELIJK
    seven = [item for item in result.items() if item.factor == 7]
    assert seven
    assert all(item.label is Label.EENS_REDELIJK for item in seven)
    priorities = suggest(instrument=INSTRUMENT, result=result).priorities
    assert [p.factor.number for p in priorities] == [9, 2, 7]
    third = priorities[2]
    assert [reason.kind for reason in third.reasons] == [
        ReasonKind.AGREED_FAIR,
        ReasonKind.PRECONDITION,
    ]
    headline, details = render(result)
    assert details is not None
    assert (
        "3. *positieve aandacht* (succesfactor 7: besteed (ook) aandacht aan wat goed gaat)\n"
        "   Waarom: iedereen antwoordt +/- (redelijk), niemand positief: het team is het eens"
        " dat het redelijk gaat, dus er is ruimte voor verbetering; voorwaarde voor afstemming"
        " (dit hoort bij relatie), en gemiddeld 3,0: niet hoger dan +/-.\n"
    ) in headline
    assert "• Eens dat het redelijk gaat: 7 positieve aandacht" in headline
    assert "0 %" not in headline
    assert "7. positieve aandacht: 3,0 ± 0,0 · ? 0 % · eens: redelijk" in details
    english, _ = render(result, EN)
    assert "Why: everyone answers +/- (fair), nobody positive" in english
    assert "• Agreed it is fair: 7 positieve aandacht" in english


@pytest.mark.parametrize(
    ("middle", "expected"),
    [(10, Label.EENS_REDELIJK), (7, Label.EENS_REDELIJK), (6, Label.GEMENGD)],
)
def test_nearly_everyone_by_the_agreement_threshold(middle: int, expected: Label) -> None:
    # The rest is split evenly positive / negative, below the "verdeeld" threshold.
    rest = 10 - middle
    answers = ["+/-"] * middle + ["+"] * (rest - rest // 2) + ["-"] * (rest // 2)
    result = merged(respondents({"q07": answers}, count=10))
    assert next(i for i in result.items() if i.question_id == "q07").label is expected


def test_the_agreement_threshold_is_the_teams_gaat_goed_threshold() -> None:
    answers = ["+/-"] * 7 + ["+", "+", "-"]
    strict = LabelRules.from_mapping({"gaat_goed": 0.8})
    result = merged(respondents({"q07": answers}, count=10), rules=strict)
    assert next(i for i in result.items() if i.question_id == "q07").label is Label.GEMENGD


def test_needs_work_comes_before_agreement_on_fair() -> None:
    # 7 of 10 "+/-" but three "--" pull the mean to 2.4: a point to work on first.
    shares = {"unknown_share": 0.0, "positive_share": 0.0, "negative_share": 0.3}
    assert classify(respondents=10, mean=2.4, middle_share=0.7, **shares) is Label.WERKPUNT
    assert classify(respondents=10, mean=2.6, middle_share=0.7, **shares) is Label.EENS_REDELIJK


def test_the_coarse_tier_cannot_tell_fair_from_no_insight() -> None:
    """Coarse labels pool +/- with ?, so "eens: redelijk" never appears below 5."""
    responses = factor_answers({1: ["+/-"] * 4}, count=4)
    result = merge(
        instrument=INSTRUMENT,
        responses=responses,
        invited=4,
        min_respondents=3,
        min_text_respondents=5,
    )
    assert result.tier is Tier.COARSE
    assert result.coarse_labels[1] is Label.GEMENGD
    assert Label.EENS_REDELIJK not in result.coarse_labels.values()


# ------------------------------------------------------------- the headline


def test_the_headline_names_the_factors_per_label() -> None:
    responses = factor_answers(
        {
            9: ["--", "-", "-", "--", "-", "-", "--", "+/-", "+"],
            2: ["-", "-", "-", "+/-", "+", "+", "+", "+", "+"],
            5: ["?", "?", "?", "+", "+", "+", "+", "+", "+"],
            6: ["+/-", "+/-", "+/-", "+/-", "+", "+", "+", "-", "-"],
        },
        count=9,
    )
    headline, _ = render(merged(responses))
    assert (
        "*Per succesfactor* (wat goed gaat en wat aandacht vraagt):\n"
        "• Gaat goed: 1 welkom, 3 alle ouders, 4 regie leerling, 7 positieve aandacht,"
        " 8 schoolloopbaan, 10 perspectief\n"
        "• Werkpunt: 9 ontwikkelpunten\n"
        "• Verdeeld: 2 kennismaken\n"
        "• Weinig zicht: 5 wederkerigheid\n"
        "• Gemengd beeld: 6 gesprek thuis\n"
    ) in headline
    assert "*Per vraag:*" not in headline


def test_the_coarse_tier_gets_the_headline_without_a_figure() -> None:
    responses = factor_answers(
        {1: ["--", "-", "-", "--"], 2: ["++", "-", "--", "+"], 3: ["+/-"] * 4}, count=4
    )
    result = merge(
        instrument=INSTRUMENT,
        responses=responses,
        invited=6,
        min_respondents=3,
        min_text_respondents=5,
    )
    headline, details = render(result)
    assert details is None
    assert (
        "• Gaat goed: 4 regie leerling, 5 wederkerigheid, 6 gesprek thuis, 7 positieve aandacht,"
        " 8 schoolloopbaan, 9 ontwikkelpunten, 10 perspectief\n"
        "• Werkpunt: 1 welkom\n"
        "• Verdeeld: 2 kennismaken\n"
        "• Gemengd beeld: 3 alle ouders\n"
    ) in headline
    assert "Waarom" not in headline
    assert "±" not in headline


def test_below_the_minimum_no_headline_of_factors() -> None:
    responses = factor_answers({1: ["--", "-"]}, count=2)
    result = merge(
        instrument=INSTRUMENT,
        responses=responses,
        invited=6,
        min_respondents=3,
        min_text_respondents=5,
    )
    headline, _ = render(result)
    assert "Per succesfactor" not in headline
    for label in ("Gaat goed", "Werkpunt", "Verdeeld", "Weinig zicht", "Gemengd"):
        assert label not in headline


# ------------------------------------------------------------ the reasons


def test_a_label_without_a_true_reason_is_no_priority() -> None:
    """A strict team threshold calls 1 in 9 negative a "werkpunt"; nothing explains it."""
    strict = LabelRules.from_mapping({"werkpunt": 0.1})
    responses = factor_answers({4: ["-", "+", "+", "+", "+/-", "+", "+/-", "+/-", "+"]}, count=9)
    result = merged(responses, rules=strict)
    four = next(f for f in result.factors() if f.number == 4)
    assert four.label is Label.WERKPUNT
    assert reasons(instrument=INSTRUMENT, factor=four, mentions=0) == ()
    assert suggest(instrument=INSTRUMENT, result=result).priorities == ()
    headline, _ = render(result)
    assert "*Voorgestelde prioriteiten:* geen duidelijke werkpunten." in headline


def test_colleagues_naming_a_factor_support_but_do_not_make_a_priority() -> None:
    responses = factor_answers({6: ["-", "-", "+/-", "+/-", "+/-", "+"]}, count=6)
    for response in responses:
        response["open:priority"] = "Meer aandacht voor huiswerk"
    result = merged(responses)
    six = next(p for p in suggest(instrument=INSTRUMENT, result=result).priorities)
    assert six.factor.number == 6
    assert six.reasons[-1] == Reason(kind=ReasonKind.MENTIONED, count=6)
    headline, _ = render(result)
    assert (
        "Waarom: 10 van de 30 antwoorden negatief (- of --; 33 % zonder de ?-antwoorden);"
        " voorwaarde voor afstemming"
        " (dit hoort bij relatie), en gemiddeld 2,8: niet hoger dan +/-;"
        " 6 collega's noemen dit zelf als prioriteit."
    ) in headline
    # Only named, with no need: not a priority.
    named_only = respondents({}, count=6)
    for response in named_only:
        response["open:priority"] = "Meer aandacht voor huiswerk"
    assert suggest(instrument=INSTRUMENT, result=merged(named_only)).priorities == ()


def test_a_precondition_reason_names_the_aspects_from_the_instrument() -> None:
    # Factor 3 (contact): mean 3.0 with a fifth of the answers negative and no majority.
    responses = factor_answers({3: ["+/-", "-", "+/-", "+", "+/-"]}, count=5)
    result = merged(responses)
    (three,) = suggest(instrument=INSTRUMENT, result=result).priorities
    assert [r.kind for r in three.reasons] == [ReasonKind.NEGATIVE, ReasonKind.PRECONDITION]
    precondition = three.reasons[1]
    assert precondition.aspect == "Attitude en organisatie"
    assert precondition.later == ("Relatie", "Afstemming")
    headline, _ = render(result)
    assert (
        "voorwaarde voor relatie en afstemming (dit hoort bij attitude en organisatie),"
        " en gemiddeld 3,0: niet hoger dan +/-."
    ) in headline
    english, _ = render(result, EN)
    assert "a condition for relatie and afstemming (this belongs to attitude en organisatie)" in (
        english
    )


def test_low_mean_is_decided_on_the_mean_as_shown() -> None:
    # Factor 10 (last cluster): 24 times +/- and one -, mean 2.96, shown as "3,0".
    responses = factor_answers({10: ["+/-"] * 24 + ["-"]}, count=25)
    result = merged(responses)
    ten = next(f for f in result.factors() if f.number == 10)
    assert ten.distribution.mean is not None
    assert ten.distribution.mean < 3
    kinds = [r.kind for r in reasons(instrument=INSTRUMENT, factor=ten, mentions=0)]
    assert ReasonKind.LOW_MEAN not in kinds
    headline, _ = render(result)
    assert "lager dan +/-" not in headline
    # Shown as 2,9 it is lower than the middle, and says so.
    lower = merged(factor_answers({10: ["+/-"] * 9 + ["-"]}, count=10))
    headline, _ = render(lower)
    assert "gemiddeld 2,9: lager dan +/-" in headline


def test_a_lowered_divided_threshold_alone_is_no_reason() -> None:
    # Team threshold "verdeeld 5": 1 positive and 1 negative of 20 is labelled verdeeld,
    # but that is no division a meeting should start from.
    answers = ["+"] + ["+/-"] * 18 + ["-"]
    rules = LabelRules(verdeeld=0.05)
    result = merged(factor_answers({10: answers}, count=20), rules=rules)
    assert factor(result, 10) is Label.VERDEELD
    ten = next(f for f in result.factors() if f.number == 10)
    assert reasons(instrument=INSTRUMENT, factor=ten, mentions=0) == ()
    chosen = suggest(instrument=INSTRUMENT, result=result).priorities
    assert 10 not in {priority.factor.number for priority in chosen}
    headline, _ = render(result)
    assert "de meningen zijn verdeeld" not in headline
    # Real division (at least 25 % on both sides) still is, whatever the threshold.
    divided = ["+"] * 5 + ["+/-"] * 10 + ["-"] * 5
    result = merged(factor_answers({10: divided}, count=20), rules=rules)
    ten = next(f for f in result.factors() if f.number == 10)
    assert ReasonKind.DIVIDED in [
        r.kind for r in reasons(instrument=INSTRUMENT, factor=ten, mentions=0)
    ]
    items = len(INSTRUMENT.questions_of(10))
    assert (
        f"de meningen zijn verdeeld: {5 * items} positief en {5 * items} negatief"
        in render(result)[0]
    )


def test_every_reason_kind_is_documented() -> None:
    for kind in ReasonKind:
        assert f"`{kind.value}`" in DOCS, kind
    assert "eens: redelijk" in DOCS


per_factor = st.lists(st.sampled_from(CODES), min_size=9, max_size=9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    answers=st.dictionaries(st.integers(min_value=1, max_value=10), per_factor, max_size=10),
    size=st.integers(min_value=5, max_value=9),
    writers=st.integers(min_value=0, max_value=9),
)
def test_every_reason_shown_is_a_documented_kind_with_true_numbers(
    answers: dict[int, list[str]], size: int, writers: int
) -> None:
    responses = factor_answers({n: codes[:size] for n, codes in answers.items()}, count=size)
    for response in responses[:writers]:
        response["open:priority"] = "huiswerk en kennismaken"
    result = merged(responses)
    suggestions = suggest(instrument=INSTRUMENT, result=result)
    headline, _ = render(result)
    chosen = {p.factor.number for p in suggestions.priorities}
    for candidate in result.factors():
        mentions = result.priority_mentions.get(candidate.number, 0)
        why = reasons(instrument=INSTRUMENT, factor=candidate, mentions=mentions)
        qualifies = candidate.label in {
            Label.WERKPUNT,
            Label.VERDEELD,
            Label.GEMENGD,
            Label.EENS_REDELIJK,
        } and any(r.kind not in SUPPORTING for r in why)
        if not qualifies:
            assert candidate.number not in chosen
        elif len(suggestions.priorities) < 3:
            assert candidate.number in chosen
    shown = _why_lines(headline)
    assert sorted(shown) == sorted(p.factor.number for p in suggestions.priorities)
    for number, line in shown.items():
        named = min(writers, len(responses))
        _assert_shown_numbers_are_true(line, _raw(responses, number), number, named)
    for line in headline.splitlines():
        if line.strip().startswith("Waarom:"):
            assert not re.search(r"\b0 %", line)


def _why_lines(headline: str) -> dict[int, str]:
    """Per priority shown, its factor number and the text of its "Waarom:" line."""
    lines = headline.splitlines()
    found = {}
    for index, line in enumerate(lines):
        match = re.match(r"\d+\. \*.+\* \(succesfactor (\d+):", line)
        if match:
            why = lines[index + 1].strip()
            assert why.startswith("Waarom: ")
            assert why.endswith(".")
            found[int(match.group(1))] = why.removeprefix("Waarom: ").removesuffix(".")
    return found


def _raw(responses: Sequence[Mapping[str, str]], number: int) -> dict[str, int]:
    """The factor's answers counted straight from the responses, per code."""
    items = [question.id for question in INSTRUMENT.questions if question.factor == number]
    counts = dict.fromkeys(CODES, 0)
    for response in responses:
        for item in items:
            counts[response[item]] += 1
    return counts


_SCORES = {"++": 5, "+": 4, "+/-": 3, "-": 2, "--": 1}
_NUMBER = r"(\d+)"
_MEAN = r"(\d+,\d)"
_SHOWN = {
    "mostly_negative": rf"de meeste antwoorden zijn - of -- \({_NUMBER} van {_NUMBER}\)",
    "divided": rf"de meningen zijn verdeeld: {_NUMBER} positief en {_NUMBER} negatief"
    rf" \(- of --\) van {_NUMBER} antwoorden?",
    "negative": rf"{_NUMBER} van (?:de )?{_NUMBER} antwoorden? negatief"
    rf" \(- of --; {_NUMBER} % zonder de \?-antwoorden\)",
    "agreed_fair_all": r"iedereen antwoordt \+/- \(redelijk\), niemand positief: het team is"
    r" het eens dat het redelijk gaat, dus er is ruimte voor verbetering",
    "agreed_fair": rf"{_NUMBER} van (?:de )?{_NUMBER} antwoorden? \+/- \(redelijk\) en"
    rf" {_NUMBER} positief: het team is het eens dat het redelijk gaat, dus er is ruimte"
    r" voor verbetering",
    "precondition": rf"voorwaarde voor [^()]+ \(dit hoort bij [^()]+\), en gemiddeld {_MEAN}:"
    r" niet hoger dan \+/-",
    "low_mean": rf"gemiddeld {_MEAN}: lager dan \+/-",
    "mentioned": rf"{_NUMBER} collega(?:'s)? noem(?:t|en) dit zelf als prioriteit",
}


def _assert_shown_numbers_are_true(
    line: str, counts: Mapping[str, int], number: int, writers: int
) -> None:
    """Every reason in a "Waarom:" line, parsed from the text, against the raw counts.

    Nothing is recomputed with the code under test: the figures come from the
    rendered sentence and are checked against counts taken straight from the answers
    and against the documented conditions (docs/team-result.md).
    """
    total = sum(counts.values())
    scored = total - counts["?"]
    positive = counts["++"] + counts["+"]
    negative = counts["-"] + counts["--"]
    middle = counts["+/-"]
    mean = sum(_SCORES[code] * counts[code] for code in _SCORES) / scored if scored else None
    last_cluster = INSTRUMENT.clusters[-1].id
    in_last = INSTRUMENT.factor(number).cluster == last_cluster
    rest = line
    kinds = []
    for kind, pattern in _SHOWN.items():
        match = re.search(pattern, rest)
        if match is None:
            continue
        kinds.append(kind)
        rest = rest[: match.start()] + rest[match.end() :]
        values = match.groups()
        if kind == "mostly_negative":
            assert (int(values[0]), int(values[1])) == (negative, total)
            assert negative * 2 > total
        elif kind == "divided":
            assert tuple(map(int, values)) == (positive, negative, total)
            assert positive * 4 >= scored
            assert negative * 4 >= scored
        elif kind == "negative":
            assert (int(values[0]), int(values[1])) == (negative, total)
            assert int(values[2]) == round(100 * negative / scored)
            assert negative * 5 >= scored  # at least 20 %
            assert negative * 2 <= total
        elif kind == "agreed_fair_all":
            assert middle == total
        elif kind == "agreed_fair":
            assert tuple(map(int, values)) == (middle, total, positive)
        elif kind in {"precondition", "low_mean"}:
            assert mean is not None
            assert values[0] == f"{mean:.1f}".replace(".", ",")
            value = float(values[0].replace(",", "."))
            if kind == "precondition":
                assert not in_last
                assert value <= 3
            else:
                assert in_last
                assert value < 3
        else:
            assert int(values[0]) == writers > 0
    assert kinds, line
    assert set(kinds) - {"mentioned"}, line  # mentioned alone never makes a priority
    # Nothing but separators is left: every sentence shown is a documented kind.
    assert re.fullmatch(r"(; )*", rest), rest
    for kind in kinds:
        assert f"`{kind.removesuffix('_all')}`" in DOCS


# ---------------------------------------------------------------- zoek uit


def test_find_out_items_get_a_next_step_with_true_numbers() -> None:
    responses = respondents(
        {
            "q24": ["?", "?", "?", "+", "+", "-"],  # half know: ask them
            "q25": ["?"] * 6,  # nobody knows: ask parents
        },
        count=6,
    )
    _headline, details = render(merged(responses))
    assert details is not None
    assert (
        "*Zoek uit* (veel collega's hebben hier geen zicht op)\n"
        "Volgende stap: vraag het per vraag de collega's die er wel zicht op hebben."
    ) in details
    assert (
        "• 24. Is er op collectieve ouderavonden sprake van interactie en dialoog met ouders?"
        " (3 van 6 antwoorden ?): vraag het de 3 collega's die er wel zicht op hebben\n"
    ) in details
    assert "(6 van 6 antwoorden ?): niemand heeft er zicht op: vraag het ouders\n" in details
    one_knows = respondents({"q24": ["?", "?", "?", "?", "?", "+"]}, count=6)
    _headline, details = render(merged(one_knows))
    assert details is not None
    assert (
        "(5 van 6 antwoorden ?): vraag het de ene collega die er wel zicht op heeft\n" in details
    )
    _headline, english = render(merged(one_knows), EN)
    assert english is not None
    assert "(5 of 6 answers ?): ask the one colleague who does have insight\n" in english


def test_a_find_out_item_names_its_factors_tool() -> None:
    # Question 14 belongs to factor 2, whose tool is the kennismakingsgesprek.
    responses = respondents({"q14": ["?", "?", "?", "+", "+", "+"]}, count=6)
    _headline, details = render(merged(responses))
    assert details is not None
    assert (
        "vraag het de 3 collega's die er wel zicht op hebben,"
        " of zoek het uit met het kennismakingsgesprek\n"
    ) in details


# ------------------------------------------------ snapshot, export, settings


def _snapshot(result: TeamResult, previous: TeamResult | None = None) -> RoundSnapshot:
    trend = compare(previous=previous, current=result) if previous is not None else ()
    return RoundSnapshot.of(
        result=result, min_text_respondents=5, trend=trend, fingerprints=None, legacy=False
    )


def test_the_new_label_survives_the_snapshot_and_old_snapshots_read_as_before() -> None:
    fair = merged(factor_answers({1: ["+/-"] * 6}, count=6))
    worse = merged(factor_answers({1: ["-"] * 6}, count=6))
    stored = _snapshot(worse, previous=fair).to_json()
    again = RoundSnapshot.from_json(stored)
    assert again.trend[0].label is Label.EENS_REDELIJK
    changes = again.changes(current=again.result(instrument=INSTRUMENT))
    assert changes[0].before_label is Label.EENS_REDELIJK
    _headline, details = render_report(
        report=build_report(
            instrument=INSTRUMENT, result=again.result(instrument=INSTRUMENT), trend=changes
        ),
        texts=NL,
    )
    assert details is not None
    assert "was eens: redelijk)" in details

    # A snapshot stored before the label existed has no "label_set": it keeps its reading.
    old = json.loads(_snapshot(fair).to_json())
    del old["label_set"]
    legacy = RoundSnapshot.from_json(json.dumps(old))
    assert factor(legacy.result(instrument=INSTRUMENT), 1) is Label.GEMENGD
    assert (
        factor(RoundSnapshot.from_json(_snapshot(fair).to_json()).result(instrument=INSTRUMENT), 1)
        is Label.EENS_REDELIJK
    )


def test_the_export_names_the_new_label(tmp_path: Path) -> None:
    result = merged(factor_answers({1: ["+/-"] * 6}, count=6))
    path = export_workbook(
        result=result,
        instrument=INSTRUMENT,
        path=tmp_path / "result.xlsx",
        texts=NL,
        generated_at=datetime(2027, 1, 4, 9, 0, tzinfo=UTC),
    )
    sheet = openpyxl.load_workbook(path)["Succesfactoren"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    welkom = dict(zip(header, rows[1], strict=True))
    assert welkom["Label"] == "eens: redelijk"


def _private(replies: Sequence[Outbound], user: str) -> list[str]:
    return [m.text for m in replies if m.destination.user == user]


def test_the_threshold_overview_states_the_rule_of_the_new_label(testbot: TestBot) -> None:
    testbot.say("anna", "/quickscan start", where=Where.TEAM)
    (shown,) = _private(testbot.say("bram", "/quickscan drempel", where=Where.TEAM), "bram")
    lines = shown.splitlines()
    werkpunt = lines.index("  … of een gemiddelde van hoogstens 2,5 (werkpunt_gemiddelde)")
    assert lines[werkpunt + 1 : werkpunt + 3] == [
        "• eens: redelijk: minstens 70 % van de antwoorden is +/- (dezelfde drempel gaat_goed)",
        "• gemengd: al het andere",
    ]
    changed = testbot.say("anna", "/quickscan drempel gaat_goed 80", where=Where.TEAM)
    channel = [m.text for m in changed if m.destination.kind is DestinationKind.TEAM]
    assert any("eens: redelijk: minstens 80 % van de antwoorden is +/-" in t for t in channel)


# ------------------------------------------------------------------- intro


def test_the_intro_asks_to_answer_independently_and_shows_the_aspect_model(
    testbot: TestBot,
) -> None:
    started = testbot.say("anna", "/quickscan start", where=Where.TEAM)
    (intro,) = [
        m.text
        for m in started
        if m.destination.kind is DestinationKind.DM and m.destination.user == "bram"
    ]
    assert (
        "De quickscan volgt de aspecten van de samenwerking met ouders, die op elkaar"
        " voortbouwen: positieve attitude en basale organisatie → wederkerige relatie →"
        " wederzijdse afstemming."
    ) in intro
    assert "• Vul de quickscan zelfstandig in, zonder eerst met collega's te overleggen" in intro
    assert intro.endswith("Klaar? Kies 'start'.")

    # An instrument without aspects gets no such line, in either language.
    participation = testbot.store.participation(key=testbot.team.member("bram"), round_id=1)
    assert participation is not None
    bare = INSTRUMENT.model_copy(update={"aspects": ()})
    for texts, model_words in ((NL, "voortbouwen"), (EN, "building on")):
        turn = Turn(
            participation=participation,
            instrument=bare,
            texts=texts,
            answers={},
            round_open=True,
        )
        text = invitation(turn, opened_by="Anna").text
        assert model_words not in text
        assert "→" not in text
        assert "\n\n\n" not in text


def test_the_aspect_model_is_data() -> None:
    assert aspect_model(SMALL, locale="nl") == ""
    assert aspect_model(INSTRUMENT, locale="en") == (
        "positieve attitude and basale organisatie → wederkerige relatie → wederzijdse afstemming"
    )
    # Aspects that no grade label names are shown one step each, in file order.
    unnamed = INSTRUMENT.model_copy(
        update={
            "aspects": (
                Aspect(id="eerst", name="eerst", description="."),
                Aspect(id="dan", name="dan", description="."),
            )
        }
    )
    assert isinstance(unnamed, Quickscan)
    assert aspect_model(unnamed, locale="nl") == "eerst → dan"


# ------------------------------------------------------------------ plurals

PLURAL_KEYS: Mapping[str, dict[str, object]] = {
    "result.participation": {"respondents": 1},
    "result.too_few": {},
    "result.grade_line": {"label": "Relatie", "mean": "7,0"},
    "result.evidence": {"negative": 1, "question": "Vraag?", "codes": "- of --"},
    "result.investigate_line": {"number": 3, "text": "Vraag?", "unknown": 1, "step": "x"},
    "result.investigate_ask": {},
    "result.reason.divided": {"positive": 1, "negative": 1, "codes": "- of --"},
    "result.reason.negative": {"negative": 1, "codes": "- of --", "share": "100 %"},
    "result.reason.agreed_fair": {"middle": 1, "positive": 0, "code": "+/-"},
    "result.reason.mentioned": {},
}
WRONG = re.compile(
    r"\b1 (collega's|antwoorden|cijfers|teamleden|quickscans|colleagues|answers|grades"
    r"|team members|quickscans)\b"
)


@pytest.mark.parametrize("key", sorted(PLURAL_KEYS))
@pytest.mark.parametrize("texts", [NL, EN], ids=["nl", "en"])
@pytest.mark.parametrize("count", [0, 1, 2])
def test_counted_result_texts_are_right_for_one(key: str, texts: Catalogue, count: int) -> None:
    text = texts.t(key, count=count, **PLURAL_KEYS[key])
    assert not WRONG.search(text), text
    if count == 1:
        assert not re.search(r"\b1 van (de )?1 \w+(s|en)\b", text), text
