"""Tests for merging a team's quickscans: counts, means, thresholds and open answers."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.results.anonymity import EXACT_MINIMUM, Tier
from bot.results.distribution import Distribution
from bot.results.figures import figures
from bot.results.labels import DEFAULT_RULES, Label
from bot.results.merge import merge
from bot.results.team_result import TeamResult
from conversations.instrument import (
    GRADE_PREFIX,
    OPEN_PREFIX,
    ClosingPage,
    Cluster,
    Factor,
    OpenQuestion,
    Question,
    Quickscan,
    Scale,
    ScaleOption,
    grade_item_id,
    load_instruments,
    open_item_id,
)

CODES = ("++", "+", "+/-", "-", "--", "?")
SCORES = {"++": 5, "+": 4, "+/-": 3, "-": 2, "--": 1, "?": None}


def _small_instrument() -> Quickscan:
    """Two clusters, three factors, six questions: small enough to count by hand."""
    return Quickscan(
        kind="quickscan",
        id="mini",
        title="Mini quickscan",
        school_type="po",
        source="Test",
        scale=Scale(
            options=tuple(
                ScaleOption(code=code, label=code, score=score) for code, score in SCORES.items()
            )
        ),
        clusters=(
            Cluster(id="a", name="A", title="Cluster A", grade_label="Label A"),
            Cluster(id="b", name="B", title="Cluster B", grade_label="Label B"),
        ),
        aspects=(),
        factors=(
            Factor(number=1, id="f1", short_name="Een", sentence="Factor een.", cluster="a"),
            Factor(number=2, id="f2", short_name="Twee", sentence="Factor twee.", cluster="a"),
            Factor(number=3, id="f3", short_name="Drie", sentence="Factor drie.", cluster="b"),
        ),
        questions=(
            Question(id="q01", factor=1, text="Vraag 1"),
            Question(id="q02", factor=1, text="Vraag 2"),
            Question(id="q03", factor=2, text="Vraag 3"),
            Question(id="q04", factor=2, text="Vraag 4"),
            Question(id="q05", factor=3, text="Vraag 5"),
            Question(id="q06", factor=3, text="Vraag 6"),
        ),
        closing=ClosingPage(
            grade_question="Welk cijfer?",
            open_questions=(
                OpenQuestion(id="beter", text="Wat kan beter?"),
                OpenQuestion(id="wens", text="Wat wens je?"),
            ),
        ),
    )


SMALL = _small_instrument()

# Five respondents; invalid values and unknown ids are mixed in on purpose.
RESPONSES: tuple[Mapping[str, str], ...] = (
    {
        "q01": "++",
        "q02": "+",
        "q03": "?",
        "q04": "--",
        "q05": "+/-",
        "grade:a": "8",
        "grade:b": "6",
        "open:beter": "  Meer koffie  ",
    },
    {
        "q01": "+",
        "q02": "+",
        "q03": "+",
        "q04": "-",
        "q05": "?",
        "q06": "++",
        "grade:a": "7",
        "grade:b": "x",
    },
    {
        "q01": "++",
        "q02": "?",
        "q03": "bogus",
        "q04": "--",
        "q05": "-",
        "q06": "+",
        "q99": "++",
        "grade:a": "11",
        "grade:b": "5",
        "grade:zz": "7",
        "open:beter": "   ",
        "open:onbekend": "weg ermee",
    },
    {
        "q01": "-",
        "q03": "++",
        "q04": "+/-",
        "q06": "?",
        "grade:a": "7.5",
        "grade:b": "10",
        "open:beter": "Vaker bellen",
    },
    {"q01": "?", "grade:a": "9", "grade:b": "0"},
)


def _merge(
    responses: tuple[Mapping[str, str], ...] = RESPONSES,
    *,
    min_respondents: int = 5,
    min_text_respondents: int = 5,
) -> TeamResult:
    return merge(
        instrument=SMALL,
        responses=responses,
        invited=8,
        min_respondents=min_respondents,
        min_text_respondents=min_text_respondents,
    )


def _counts(**counts: int) -> dict[str, int]:
    """Counts for every code in scale order; keyword names stand for codes."""
    names = {"pp": "++", "p": "+", "pm": "+/-", "m": "-", "mm": "--", "q": "?"}
    given = {names[name]: count for name, count in counts.items()}
    return {code: given.get(code, 0) for code in CODES}


def _check(
    distribution: Distribution,
    counts: dict[str, int],
    *,
    respondents: int,
    scored: int,
    mean: float | None,
    unknown_share: float,
) -> None:
    assert dict(distribution.counts) == counts
    assert tuple(distribution.counts) == CODES
    assert distribution.respondents == respondents
    assert distribution.scored == scored
    if mean is None:
        assert distribution.mean is None
    else:
        assert distribution.mean == pytest.approx(mean)
    assert distribution.unknown_share == pytest.approx(unknown_share)


def test_item_ids_use_the_prefixes() -> None:
    assert grade_item_id(cluster_id="a") == f"{GRADE_PREFIX}a" == "grade:a"
    assert open_item_id(question_id="beter") == f"{OPEN_PREFIX}beter" == "open:beter"


def test_team_figures() -> None:
    result = _merge()
    assert result.instrument_id == "mini"
    assert result.respondents == 5
    assert result.invited == 8
    assert result.min_respondents == 5
    assert result.itemised is True
    assert [cluster.cluster_id for cluster in result.clusters] == ["a", "b"]
    assert [factor.number for factor in result.factors()] == [1, 2, 3]
    assert [item.question_id for item in result.items()] == [f"q0{n}" for n in range(1, 7)]


@pytest.mark.parametrize(
    ("question_id", "counts", "respondents", "scored", "mean", "unknown_share"),
    [
        ("q01", _counts(pp=2, p=1, m=1, q=1), 5, 4, 4.0, 1 / 5),
        ("q02", _counts(p=2, q=1), 3, 2, 4.0, 1 / 3),
        ("q03", _counts(pp=1, p=1, q=1), 3, 2, 4.5, 1 / 3),
        ("q04", _counts(pm=1, m=1, mm=2), 4, 4, 1.75, 0.0),
        ("q05", _counts(pm=1, m=1, q=1), 3, 2, 2.5, 1 / 3),
        ("q06", _counts(pp=1, p=1, q=1), 3, 2, 4.5, 1 / 3),
    ],
)
def test_item_distributions(
    question_id: str,
    counts: dict[str, int],
    respondents: int,
    scored: int,
    mean: float,
    unknown_share: float,
) -> None:
    item = next(item for item in _merge().items() if item.question_id == question_id)
    _check(
        item.distribution,
        counts,
        respondents=respondents,
        scored=scored,
        mean=mean,
        unknown_share=unknown_share,
    )


def test_item_metadata() -> None:
    items = _merge().items()
    assert [item.number for item in items] == [1, 2, 3, 4, 5, 6]
    assert [item.factor for item in items] == [1, 1, 2, 2, 3, 3]
    assert items[2].text == "Vraag 3"


def test_factor_distributions_pool_their_items() -> None:
    one, two, three = _merge().factors()
    assert (one.number, one.short_name, one.cluster_id) == (1, "Een", "a")
    assert [item.question_id for item in one.items] == ["q01", "q02"]
    _check(
        one.distribution,
        _counts(pp=2, p=3, m=1, q=2),
        respondents=8,
        scored=6,
        mean=4.0,
        unknown_share=0.25,
    )
    _check(
        two.distribution,
        _counts(pp=1, p=1, pm=1, m=1, mm=2, q=1),
        respondents=7,
        scored=6,
        mean=16 / 6,
        unknown_share=1 / 7,
    )
    assert three.cluster_id == "b"
    _check(
        three.distribution,
        _counts(pp=1, p=1, pm=1, m=1, q=2),
        respondents=6,
        scored=4,
        mean=3.5,
        unknown_share=2 / 6,
    )


def test_cluster_distributions_pool_their_factors() -> None:
    a, b = _merge().clusters
    assert (a.name, a.grade_label) == ("A", "Label A")
    assert [factor.number for factor in a.factors] == [1, 2]
    _check(
        a.distribution,
        _counts(pp=3, p=4, pm=1, m=2, mm=2, q=3),
        respondents=15,
        scored=12,
        mean=40 / 12,
        unknown_share=0.2,
    )
    assert [factor.number for factor in b.factors] == [3]
    assert b.distribution == b.factors[0].distribution


def test_grades_ignore_invalid_values() -> None:
    a, b = _merge().clusters
    # a: 8, 7, 9 count; "11" and "7.5" do not.
    assert (a.grade.cluster_id, a.grade.label, a.grade.count) == ("a", "Label A", 3)
    assert a.grade.mean == pytest.approx(8.0)
    # b: 6, 5, 10 count; "x" and "0" do not.
    assert (b.grade.cluster_id, b.grade.label, b.grade.count) == ("b", "Label B", 3)
    assert b.grade.mean == pytest.approx(7.0)


def test_share() -> None:
    distribution = next(iter(_merge().items())).distribution
    assert distribution.share("++") == pytest.approx(0.4)
    assert distribution.share("+/-") == 0.0
    assert sum(distribution.share(code) for code in CODES) == pytest.approx(1.0)
    with pytest.raises(KeyError):
        distribution.share("+++")


def test_no_answers_at_all() -> None:
    clusters = figures(instrument=SMALL, item_counts={}, grades={}, rules=DEFAULT_RULES)
    result = dataclasses.replace(_merge(), clusters=clusters)
    for item in result.items():
        _check(
            item.distribution,
            _counts(),
            respondents=0,
            scored=0,
            mean=None,
            unknown_share=0.0,
        )
        assert item.distribution.share("++") == 0.0
    for cluster in result.clusters:
        assert cluster.grade.count == 0
        assert cluster.grade.mean is None


def test_below_min_respondents_carries_nothing_item_level() -> None:
    result = _merge(min_respondents=6, min_text_respondents=1)
    assert result.respondents == 5
    assert result.invited == 8
    assert result.itemised is False
    assert result.clusters == ()
    assert result.factors() == ()
    assert result.items() == ()
    assert result.open_answers == {}


def test_between_the_minimum_and_five_only_coarse_labels() -> None:
    result = _merge(RESPONSES[:4], min_respondents=3, min_text_respondents=1)
    assert result.tier is Tier.COARSE
    assert result.itemised is False
    assert result.clusters == ()
    assert result.open_answers == {}
    assert result.priority_mentions == {}
    assert set(result.coarse_labels) == {1, 2, 3}


def test_agreement_on_the_middle_is_labelled_per_item_and_factor_but_never_coarse() -> None:
    fair = {"q01": "+/-", "q02": "+/-", "q03": "+", "q04": "-", "q05": "?", "q06": "?"}
    exact = _merge((fair,) * 5)
    labels = {item.question_id: item.label for item in exact.items()}
    assert labels["q01"] is labels["q02"] is Label.EENS_REDELIJK
    assert exact.factors()[0].label is Label.EENS_REDELIJK
    # Factor 2: half positive, half negative: divided, not agreement.
    assert exact.factors()[1].label is Label.VERDEELD
    # Coarse labels count +/- and ? as one group: they cannot tell agreement from no insight.
    coarse = _merge((fair,) * 4, min_respondents=3)
    assert coarse.tier is Tier.COARSE
    assert coarse.coarse_labels[1] is Label.GEMENGD
    assert Label.EENS_REDELIJK not in coarse.coarse_labels.values()


def test_open_answers_hidden_below_min_text_respondents() -> None:
    result = _merge(min_respondents=5, min_text_respondents=6)
    assert result.itemised is True
    assert result.clusters != ()
    assert result.open_answers == {}


def test_open_answers_shown_when_enough_people_wrote_one() -> None:
    # Two people wrote an answer to "beter", nobody to "wens": the gate counts writers.
    result = _merge(min_respondents=5, min_text_respondents=2)
    assert set(result.open_answers) == {"beter"}
    # Stripped, blank ones dropped, unknown open questions ignored.
    assert sorted(result.open_answers["beter"]) == ["Meer koffie", "Vaker bellen"]


def test_open_answers_hidden_when_too_few_wrote_one_however_many_responded() -> None:
    result = _merge(min_respondents=5, min_text_respondents=3)
    assert result.respondents == 5
    assert result.open_answers == {}


def test_open_answers_order_does_not_follow_submission_order() -> None:
    texts = [f"antwoord {n:02d}" for n in range(20)]
    responses = tuple({"open:beter": text} for text in texts)
    forward = _merge(responses).open_answers["beter"]
    backward = _merge(tuple(reversed(responses))).open_answers["beter"]
    assert sorted(forward) == texts
    assert forward == backward
    assert list(forward) != texts


def test_duplicate_open_answers_are_all_kept() -> None:
    responses = tuple({"open:wens": "Meer tijd"} for _ in range(5))
    assert _merge(responses).open_answers["wens"] == ("Meer tijd",) * 5


def test_result_is_immutable() -> None:
    result = _merge()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.respondents = 6  # type: ignore[misc]
    counts = result.items()[0].distribution.counts
    with pytest.raises(TypeError):
        counts["++"] = 99  # type: ignore[index]
    with pytest.raises(TypeError):
        result.open_answers["beter"] = ()  # type: ignore[index]


ITEM_KEYS = ("q01", "q02", "q03", "q04", "q05", "q06", "q99", "grade:a", "open:beter")
VALUES = (*CODES, "bogus", "", "7", "11")


@given(
    responses=st.lists(
        st.dictionaries(st.sampled_from(ITEM_KEYS), st.sampled_from(VALUES)), max_size=30
    )
)
def test_counts_are_consistent(responses: list[dict[str, str]]) -> None:
    result = merge(
        instrument=SMALL,
        responses=responses,
        invited=len(responses),
        min_respondents=0,
        min_text_respondents=0,
    )
    assert result.respondents == len(responses)
    assert result.itemised is (len(responses) >= EXACT_MINIMUM)
    for item in result.items():
        distribution = item.distribution
        assert sum(distribution.counts.values()) == distribution.respondents <= len(responses)
        expected = sum(1 for response in responses if response.get(item.question_id) in CODES)
        assert distribution.respondents == expected
        if distribution.respondents:
            total = sum(distribution.share(code) for code in CODES)
            assert total == pytest.approx(1.0)
    for factor in result.factors():
        pooled = Counter[str]()
        for item in factor.items:
            pooled.update(item.distribution.counts)
        assert dict(factor.distribution.counts) == {code: pooled[code] for code in CODES}
    for cluster in result.clusters:
        assert cluster.distribution.respondents == sum(
            factor.distribution.respondents for factor in cluster.factors
        )
        assert cluster.grade.count <= len(responses)


def test_real_instrument_with_many_responses() -> None:
    instrument = load_instruments()["quickscan-po"]
    assert isinstance(instrument, Quickscan)
    rng = random.Random(20240501)
    question_ids = [question.id for question in instrument.questions]
    cluster_ids = [cluster.id for cluster in instrument.clusters]
    responses: list[dict[str, str]] = []
    for _ in range(10_000):
        response: dict[str, str] = {}
        for question_id in question_ids:
            if rng.random() < 0.9:
                response[question_id] = rng.choice((*CODES, "bogus"))
        for cluster_id in cluster_ids:
            if rng.random() < 0.8:
                response[grade_item_id(cluster_id=cluster_id)] = str(rng.randint(0, 11))
        if rng.random() < 0.1:
            response[open_item_id(question_id="priority")] = f"tekst {rng.randint(1, 50)}"
        responses.append(response)

    result = merge(
        instrument=instrument,
        responses=responses,
        invited=12_000,
        min_respondents=5,
        min_text_respondents=5,
    )

    # Expected figures counted the naive way, one item at a time.
    expected = {
        question_id: Counter(
            response[question_id] for response in responses if response.get(question_id) in SCORES
        )
        for question_id in question_ids
    }
    assert result.respondents == 10_000
    assert len(result.items()) == 48
    assert [item.number for item in result.items()] == list(range(1, 49))
    for item in result.items():
        assert dict(item.distribution.counts) == {
            code: expected[item.question_id][code] for code in CODES
        }
        scored = sum(expected[item.question_id][code] for code in CODES if code != "?")
        total = sum((SCORES[code] or 0) * expected[item.question_id][code] for code in CODES)
        assert item.distribution.scored == scored
        assert item.distribution.mean == pytest.approx(total / scored)
    assert len(result.factors()) == 10
    for factor in result.factors():
        assert factor.distribution.respondents == sum(
            sum(expected[question.id].values())
            for question in instrument.questions_of(factor.number)
        )
    assert sum(cluster.distribution.respondents for cluster in result.clusters) == sum(
        sum(counter.values()) for counter in expected.values()
    )
    for cluster in result.clusters:
        grades = [
            int(response[grade_item_id(cluster_id=cluster.cluster_id)])
            for response in responses
            if response.get(grade_item_id(cluster_id=cluster.cluster_id), "0") != "0"
            and int(response[grade_item_id(cluster_id=cluster.cluster_id)]) <= 10
        ]
        assert cluster.grade.count == len(grades)
        assert cluster.grade.mean == pytest.approx(sum(grades) / len(grades))
    written = sorted(
        response["open:priority"] for response in responses if "open:priority" in response
    )
    assert sorted(result.open_answers["priority"]) == written
    assert "support" not in result.open_answers  # nobody wrote one
