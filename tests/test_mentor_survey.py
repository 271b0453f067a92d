"""The mentor survey of seed 003 as a second team instrument: texts, loader, round, result.

The statements, instructions and scales are the instrument itself, so they are
checked word for word against the seed (when the source documents are present).
A console round of six mentors then checks what a team sees: the walkthrough with
each section's own scale, the post with a known largest gap, the chart and the
export, the coarse tier with fewer than five, and the trend in a second round.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from bot.results.anonymity import Tier
from bot.results.labels import DEFAULT_RULES, Label
from bot.results.paired import PairedResult, StatementResult, paired_result
from bot.results.paired_chart import bar_segments
from bot.results.paired_freeze import freeze, group_labels, item_counts
from bot.results.paired_gap import IMPORTANT_SHARE, MIN_GAP, Shares, suggested_priorities
from bot.results.paired_text import render_paired
from bot.results.snapshot import RoundSnapshot
from conversations.core.i18n import Catalogue
from conversations.instrument import (
    InstrumentError,
    Quickscan,
    load_instrument,
    load_instruments,
    packaged_dir,
)
from conversations.quickscan.prompts import Turn, invitation
from storage.keys import ConversationKey, TeamKey
from storage.quickscan.answers import AnswerRepository
from storage.quickscan.records import Participation, ParticipationState
from tests.conftest import FakeClock
from tests.console_harness import Console, make_console, texts_for

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
FILE = "mentor-ervaring-belang.yaml"
SIX = ("anna", "bram", "chris", "dewi", "eva", "fatima")
ITEMS = 22


@pytest.fixture(scope="module")
def survey() -> Quickscan:
    """The packaged mentor survey."""
    instrument = load_instruments()["ervaring-belang"]
    assert isinstance(instrument, Quickscan)
    assert instrument.paired is not None
    return instrument


# --- word for word against seed 003 ------------------------------------------------------


def _seed_lines() -> list[str]:
    if not SEEDS.is_dir():
        pytest.skip(f"source documents not available at {SEEDS}")
    (path,) = SEEDS.glob("003_*.txt")
    return path.read_text(encoding="utf-8").splitlines()


def _mentor_part(which: str) -> list[str]:
    """The lines of the mentors' experience ("ervaringen") or importance ("belang") list."""
    lines = _seed_lines()
    start = next(
        i for i, line in enumerate(lines) if "Vragenlijst aan mentoren - ervaringen1" in line
    )
    middle = next(
        i
        for i, line in enumerate(lines)
        if i > start and "Vragenlijst aan mentoren - belang" in line
    )
    end = next(
        i for i, line in enumerate(lines) if "Vragenlijst aan mentoren - ervaringen2" in line
    )
    return lines[start:middle] if which == "ervaringen" else lines[middle:end]


def _normalise(lines: Sequence[str]) -> str:
    """Undo the PDF extraction: drop the printed answer columns, join broken words.

    Only a hyphen at the end of a line is a break; "(de 10- minuten gesprekken)" is
    printed that way in the middle of a line and stays.
    """
    text = re.sub(r"\s1 2 3 4(?=\s|$)", " ", "\n".join(lines))
    text = re.sub(r"([a-zë])-[ \t]*\n\s*([a-z])", r"\1\2", text)
    return " ".join(text.split())


def _column_heads(lines: Sequence[str], section: str) -> list[str]:
    """The printed scale labels above a section: "nauwe- / lijks" joined again."""
    index = next(i for i, line in enumerate(lines) if line.strip() == section)
    first, second = lines[index + 1].split(), lines[index + 2].split()
    heads = []
    for word in first:
        heads.append(word[:-1] + second.pop(0) if word.endswith("-") else word)
    return heads


@pytest.mark.parametrize(
    ("which", "field"), [("ervaringen", "experience"), ("belang", "importance")]
)
def test_statements_are_the_seeds_in_order(survey: Quickscan, which: str, field: str) -> None:
    assert survey.paired is not None
    survey_list = getattr(survey.paired, field)
    seed = _normalise(_mentor_part(which))
    position = 0
    for item in survey_list.items:
        printed = f"{item.number} {item.text}"
        found = seed.find(printed, position)
        assert found >= 0, f"{item.id} not (in order) in the seed: {printed}"
        position = found + len(printed)
    assert [item.number for item in survey_list.items] == list(range(1, 12))
    assert survey_list.title in seed
    for instruction in survey_list.instructions:
        assert " ".join(instruction.text.split()) in seed, instruction.text


@pytest.mark.parametrize(
    ("which", "field"), [("ervaringen", "experience"), ("belang", "importance")]
)
def test_scales_are_the_seeds_column_heads(survey: Quickscan, which: str, field: str) -> None:
    assert survey.paired is not None
    lines = _mentor_part(which)
    survey_list = getattr(survey.paired, field)
    for section in survey.paired.sections:
        item = next(item for item in survey_list.items if item.section == section.id)
        scale = survey.paired.scale_of(item, default=survey.scale)
        assert [option.label for option in scale.options] == _column_heads(lines, section.name)
        assert [option.code for option in scale.options] == ["1", "2", "3", "4"]


def test_the_scales_as_printed(survey: Quickscan) -> None:
    assert survey.paired is not None
    labels = {
        (survey_list.id, section.id): [
            option.label
            for option in survey.paired.scale_of(
                next(i for i in survey_list.items if i.section == section.id),
                default=survey.scale,
            ).options
        ]
        for survey_list in (survey.paired.experience, survey.paired.importance)
        for section in survey.paired.sections
    }
    assert labels[("ervaring", "algemeen")] == ["niet", "nauwelijks", "redelijk", "goed"]
    assert labels[("ervaring", "gesprek")] == ["nooit", "nauwelijks", "vaak", "altijd"]
    assert labels[("belang", "algemeen")] == ["niet", "nauwelijks", "redelijk", "goed"]
    assert labels[("belang", "wederkerigheid")] == ["niet", "nauwelijks", "vaak", "altijd"]


def test_the_instructions_word_for_word(survey: Quickscan) -> None:
    assert survey.paired is not None
    experience, importance = survey.paired.experience, survey.paired.importance
    assert experience.instruction_for(experience.items[1]) == (
        "De eerste twee stellingen gaan over uw kennis van de thuissituatie van uw leerlingen\n"
        "Kies het cijfer wat het beste overeenkomt met uw ervaringen."
    )
    assert experience.instruction_for(experience.items[2]) == (
        "De volgende negen stellingen gaan over uw ervaringen met de contactmomenten met de"
        " ouders (de 10- minuten gesprekken). Omcirkel het cijfer wat het beste overeenkomt"
        " met uw ervaringen."
    )
    assert importance.instruction_for(importance.items[10]).endswith(
        "(de 10- minuten gesprekken). Omcirkel het cijfer wat het beste overeenkomt met uw"
        " ervaringen. Vindt u het belangrijk dat:"
    )
    assert importance.items[0].text == "Dat u de thuissituatie van uw leerlingen kent?"
    assert experience.items[7].text == (
        "Doet u een specifiek aanbod om ouders te informeren over, en te ondersteunen, bij hun"
        " rol thuis?"
    )


def test_sections_and_pairs_by_content(survey: Quickscan) -> None:
    assert survey.paired is not None
    assert [s.name for s in survey.paired.sections] == [
        "Algemeen",
        "Wederkerigheid",
        "Ondersteunende rol van ouders",
        "Het gesprek",
    ]
    pairs = {pair.experience: pair.importance for pair in survey.paired.pairs}
    assert pairs == {
        **{f"e{n:02d}": f"b{n:02d}" for n in range(1, 9)},
        "e09": "b11",  # gespreksonderwerpen
        "e10": "b09",  # toekomst
        "e11": "b10",  # gespreksagenda
    }
    for pair in survey.paired.pairs:
        experience = survey.paired.item(pair.experience).text.lower()
        importance = survey.paired.item(pair.importance).text.lower()
        key = next(
            word
            for word in ("gespreksonderwerpen", "toekomst", "gespreksagenda", "thuissituatie")
            + ("rol", "aanmoedig", "ontwikkeling", "praktische", "ondersteuning", "aanbod")
            if word in experience or (word == "aanmoedig" and "moedigt" in experience)
        )
        assert key in importance or (key == "aanmoedig" and "aanmoedigt" in importance)


def test_result_categories_merge_nooit_and_niet_with_nauwelijks(survey: Quickscan) -> None:
    assert survey.paired is not None
    experience = survey.paired.experience.categories
    importance = survey.paired.importance.categories
    assert [(c.label, c.scores) for c in experience.ordered()] == [
        ("goed", (4,)),
        ("redelijk", (3,)),
        ("nauwelijks / niet", (1, 2)),
    ]
    assert [c.label for c in importance.ordered()] == [
        "zeer belangrijk",
        "redelijk belangrijk",
        "nauwelijks / niet",
    ]
    seed = " ".join(" ".join(_seed_lines()).split())
    for label in (
        "goed",
        "redelijk",
        "nauwelijks / niet",
        "zeer belangrijk",
        "redelijk belangrijk",
    ):
        assert f"■ {label}" in seed


def test_packaged_instruments_include_the_survey() -> None:
    assert set(load_instruments()) == {"quickscan-po", "checklist-oudercontact", "ervaring-belang"}


def test_item_order_and_scales(survey: Quickscan) -> None:
    assert survey.item_ids() == (
        *(f"e{n:02d}" for n in range(1, 12)),
        *(f"b{n:02d}" for n in range(1, 12)),
    )
    assert survey.scale_at(2).by_code("1").label == "nooit"
    assert survey.scale_at(13).by_code("1").label == "niet"
    assert survey.closing.grade_question is None
    assert survey.closing.open_questions == ()
    with pytest.raises(IndexError):
        survey.scale_at(ITEMS)


# --- the loader: a broken file is named by field -------------------------------------------


def _data() -> dict[str, Any]:
    data = yaml.safe_load((packaged_dir() / FILE).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _pair_unknown_item(data: dict[str, Any]) -> None:
    data["paired"]["pairs"][9]["importance"] = "b12"


def _item_in_no_pair(data: dict[str, Any]) -> None:
    data["paired"]["pairs"].pop()


def _same_item_twice(data: dict[str, Any]) -> None:
    data["paired"]["pairs"][10]["importance"] = "b09"


def _overlapping_categories(data: dict[str, Any]) -> None:
    data["paired"]["importance"]["categories"]["middle"]["scores"] = [3, 4]


def _category_misses_a_score(data: dict[str, Any]) -> None:
    data["paired"]["experience"]["categories"]["low"]["scores"] = [1]


def _unscored_option(data: dict[str, Any]) -> None:
    data["paired"]["scales"]["niet-altijd"]["options"][0]["score"] = None


def _unknown_section(data: dict[str, Any]) -> None:
    data["paired"]["experience"]["items"][4]["section"] = "agenda"


def _unknown_scale(data: dict[str, Any]) -> None:
    data["paired"]["importance"]["scales"]["gesprek"] = "nooit-vaak"


def _no_first_instruction(data: dict[str, Any]) -> None:
    data["paired"]["experience"]["instructions"].pop(0)


def _instruction_for_no_item(data: dict[str, Any]) -> None:
    data["paired"]["importance"]["instructions"][1]["before"] = 12


def _id_in_both_lists(data: dict[str, Any]) -> None:
    data["paired"]["importance"]["items"][0]["id"] = "e01"


def _questions_as_well(data: dict[str, Any]) -> None:
    data["questions"] = [{"id": "q01", "factor": 1, "text": "Een vraag?"}]


def _closing_page_as_well(data: dict[str, Any]) -> None:
    data["closing"] = {"open_questions": [{"id": "priority", "text": "Wat eerst?"}]}


def _misspelt_key(data: dict[str, Any]) -> None:
    data["paired"]["experience"]["instruction"] = data["paired"]["experience"].pop("instructions")


@pytest.mark.parametrize(
    ("breaker", "location", "message"),
    [
        (_pair_unknown_item, "paired.pairs.9.importance", "'b12' is not an item"),
        (_item_in_no_pair, "paired.experience.items.10", "'e11' is in no pair"),
        (_same_item_twice, "paired.pairs.10.importance", "duplicate item 'b09'"),
        (_overlapping_categories, "paired.importance.categories.middle.scores", "score 4"),
        (_category_misses_a_score, "paired.experience.categories", "has [1, 2, 3, 4]"),
        (_unscored_option, "paired.belang", ""),
        (_unknown_section, "paired.experience.items.4.section", "'agenda' is not defined"),
        (_unknown_scale, "paired.importance.scales.gesprek", "'nooit-vaak' is not defined"),
        (_no_first_instruction, "paired.experience.instructions", "first item (1)"),
        (_instruction_for_no_item, "paired.importance.instructions.1.before", "number 12"),
        (_id_in_both_lists, "paired.importance.items.0.id", "also used in the experience"),
        (_questions_as_well, "questions", "has no questions"),
        (_closing_page_as_well, "closing", "has no closing page"),
        (_misspelt_key, "paired.experience.instruction", "Extra inputs are not permitted"),
    ],
)
def test_a_broken_survey_is_rejected_with_its_field(
    tmp_path: Path, breaker: Callable[[dict[str, Any]], None], location: str, message: str
) -> None:
    data = copy.deepcopy(_data())
    breaker(data)
    path = tmp_path / FILE
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)

    text = str(caught.value)
    if breaker is _unscored_option:  # reported at the first item on that scale
        assert f"{path}: paired.importance.items.2.section:" in text
        assert "option without a score" in text
    else:
        assert f"{path}: {location}:" in text
        assert message in text


# --- the result, from counts ----------------------------------------------------------------


def _statement(
    experience: tuple[int, int, int], importance: tuple[int, int, int]
) -> StatementResult:
    return StatementResult(
        number=1,
        name="x",
        section="Algemeen",
        experience_text="?",
        importance_text="?",
        experience=Shares(high=experience[0], middle=experience[1], low=experience[2]),
        importance=Shares(high=importance[0], middle=importance[1], low=importance[2]),
    )


def test_the_gap_is_important_minus_good() -> None:
    # The seed's own reading: all mentors fairly to very important, 31 % know it well.
    statement = _statement((31, 60, 9), (80, 20, 0))
    assert statement.important == 1.0
    assert statement.good == pytest.approx(0.31)
    assert statement.gap == pytest.approx(0.69)
    assert _statement((0, 0, 0), (5, 0, 0)).gap is None


def test_priorities_need_importance_and_a_gap() -> None:
    def result(*statements: StatementResult) -> PairedResult:
        numbered = tuple(
            StatementResult(**{**_fields(s), "number": n}) for n, s in enumerate(statements, 1)
        )
        return PairedResult(
            instrument_id="ervaring-belang",
            title="t",
            respondents=6,
            invited=6,
            min_respondents=5,
            tier=Tier.EXACT,
            compared=False,
            labels_withheld=False,
            categories=(("a", "b", "c"), ("d", "e", "f")),
            statements=numbered,
        )

    chosen = result(
        _statement((3, 3, 0), (6, 0, 0)),  # gap 50
        _statement((0, 6, 0), (2, 2, 2)),  # gap 67, but only 67 % important
        _statement((0, 6, 0), (6, 0, 0)),  # gap 100
        _statement((5, 1, 0), (6, 0, 0)),  # gap 17: below MIN_GAP
        _statement((2, 4, 0), (3, 3, 0)),  # gap 67
        _statement((4, 2, 0), (3, 3, 0)),  # gap 33
    ).priorities()
    assert [s.number for s in chosen] == [3, 5, 1]
    assert IMPORTANT_SHARE == 0.75
    assert MIN_GAP == 0.20


def _ranked(*statements: StatementResult) -> list[int]:
    numbered = [
        StatementResult(**{**_fields(s), "number": n}) for n, s in enumerate(statements, 1)
    ]
    return [s.number for s in suggested_priorities(numbered)]


def test_a_gap_of_exactly_twenty_points_is_a_priority_and_ties_are_documented() -> None:
    # 5 of 5 very important, 4 of 5 good: 100 - 80 = 20 points (1.0 - 0.8 < 0.2 in floats).
    assert _ranked(_statement((4, 1, 0), (5, 0, 0))) == [1]
    # Equal gaps of 20 points (90 - 70 is just above 0.2 in floats, 100 - 80 just below):
    # the more important statement first, then the lower number.
    assert _ranked(
        _statement((7, 3, 0), (9, 0, 1)),  # 90 % important, 70 % good
        _statement((8, 2, 0), (10, 0, 0)),  # 100 %, 80 %
        _statement((4, 1, 0), (5, 0, 0)),  # 100 %, 80 %
    ) == [2, 3, 1]
    # Just under 20 points stays out: 5 of 6 good, all important (17 points).
    assert _ranked(_statement((5, 1, 0), (6, 0, 0))) == []


def _fields(statement: StatementResult) -> dict[str, Any]:
    return {name: getattr(statement, name) for name in StatementResult.__slots__}


# --- a console round of six mentors --------------------------------------------------------


# Statement 1: nobody knows the home situation well, everybody finds it very important
# (gap 100). Statement 10 (toekomst: experience e10, importance b09): half say "altijd"
# (good 50 %), everyone "vaak" important (gap 50). Statement 4: nobody "altijd", but only
# 4 of 6 find it important (gap 67, not a priority). Statement 11 (agenda: e11 / b10):
# always, and nobody finds it important. Everything else: 4 and 4 (gap 0).
def _answers(index: int) -> dict[str, str]:
    answers = {f"e{n:02d}": "4" for n in range(1, 12)} | {f"b{n:02d}": "4" for n in range(1, 12)}
    answers["e01"] = "1" if index % 2 else "2"
    answers["b01"] = "4"
    answers["e10"] = "4" if index < 3 else "2"
    answers["b09"] = "3"
    answers["e04"] = "3"
    answers["b04"] = "4" if index < 4 else "1"
    answers["b10"] = "1"
    return answers


def _fill(console: Console, name: str, answers: dict[str, str]) -> None:
    lines = [f"{name}@dm: start"]
    lines += [f"{name}@dm: {answers[item]}" for item in (*ANSWER_ORDER,)]
    lines.append(f"{name}@dm: versturen")
    console.say(*lines)


ANSWER_ORDER = (*(f"e{n:02d}" for n in range(1, 12)), *(f"b{n:02d}" for n in range(1, 12)))


def test_a_round_of_six_mentors(database_url: str, clock: FakeClock, tmp_path: Path) -> None:
    console = make_console(
        database_url=database_url, members=SIX, clock=clock, output_dir=tmp_path
    )
    try:
        started = console.say("anna@team: /quickscan start ervaring-belang")
        (announce,) = texts_for(started, "team")
        assert "*Vragenlijst aan mentoren - ervaringen en belang*" in announce
        assert "6 teamleden krijgen een privébericht" in announce
        intro = texts_for(started, "dm:bram")[0]
        assert "Je krijgt 22 vragen" in intro
        assert "'Vragenlijst aan mentoren - ervaringen'" in intro
        assert "onafhankelijk van je collega's" in intro

        # bram walks: each section's own scale, the instruction, back, later, resume.
        first = texts_for(console.say("bram@dm: start"), "dm:bram")[-1]
        assert "*Ervaring · Algemeen — vraag 1 van 22*" in first
        assert "Kies het cijfer wat het beste overeenkomt met uw ervaringen." in first
        assert "1. Kent u de thuissituatie van uw leerlingen?" in first
        assert "(1) 1 niet  (2) 2 nauwelijks  (3) 3 redelijk  (4) 4 goed" in first
        console.say("bram@dm: 2")
        third = texts_for(console.say("bram@dm: redelijk"), "dm:bram")[-1]
        assert "*Ervaring · Wederkerigheid — vraag 3 van 22*" in third
        assert "(de 10- minuten gesprekken)" in third
        assert "(1) 1 nooit  (2) 2 nauwelijks  (3) 3 vaak  (4) 4 altijd" in third
        refused = texts_for(console.say("bram@dm: 9"), "dm:bram")
        assert "1 (nooit), 2 (nauwelijks), 3 (vaak), 4 (altijd)" in refused[0]
        assert "vraag 3 van 22" in refused[1]
        back = texts_for(console.say("bram@dm: vorige"), "dm:bram")[-1]
        assert "vraag 2 van 22" in back
        assert "Je huidige antwoord: 3 (redelijk)" in back
        console.say("bram@dm: later")
        resumed = texts_for(console.say("bram@dm: verder"), "dm:bram")[-1]
        assert "vraag 3 van 22" in resumed
        console.say(*[f"bram@dm: {_answers(1)[item]}" for item in ANSWER_ORDER[2:11]])
        twelfth = texts_for(console.say("bram@dm: wijzig 12"), "dm:bram")[-1]
        assert "*Belang · Algemeen — vraag 12 van 22*" in twelfth
        assert "Vindt u het belangrijk dat:" in twelfth
        assert "1. Dat u de thuissituatie van uw leerlingen kent?" in twelfth
        # No grades page: after the last statement comes the summary.
        review = texts_for(
            console.say(*[f"bram@dm: {_answers(1)[item]}" for item in ANSWER_ORDER[11:]]),
            "dm:bram",
        )[-1]
        assert "*Samenvatting van je antwoorden*" in review
        assert "22 van 22 vragen beantwoord:" in review
        assert "Ervaring — gekozen cijfers:" in review
        assert "Cijfers" not in review
        # bram's first two answers (2, 3) become his planned ones through "wijzig".
        console.say("bram@dm: wijzig 1", f"bram@dm: {_answers(1)['e01']}")
        console.say("bram@dm: wijzig 2", "bram@dm: 4", "bram@dm: versturen")

        for index, name in enumerate(SIX):
            if name != "bram":
                _fill(console, name, _answers(index))

        closed = console.say("anna@team: /quickscan sluit")
        headline, details = texts_for(closed, "team")
        assert "Deelname: 6 van de 6 uitgenodigde teamleden." in headline
        assert (
            "1. *Het kennen van de thuissituatie* (stelling 1): 100 % vindt het redelijk tot zeer"
            " belangrijk, 0 % ervaart het als goed; kloof 100 procentpunten"
        ) in headline
        assert (
            "2. *Toekomst als leidraad* (stelling 10): 100 % vindt het redelijk tot zeer"
            " belangrijk, 50 % ervaart het als goed; kloof 50 procentpunten"
        ) in headline
        assert "3. *" not in headline  # statement 4 has a gap, but too few find it important
        assert "[afbeelding: " in headline

        assert "4. Aanmoedigen om contact op te nemen" in details
        assert "Ervaring: goed 0 % · redelijk 100 % · nauwelijks / niet 0 %" in details
        assert (
            "Belang: zeer belangrijk 67 % · redelijk belangrijk 0 % · nauwelijks / niet 33 %"
            in details
        )
        assert "11. Gespreksagenda" in details
        assert "Kloof: -100 procentpunten" in details
        for name in SIX:
            assert re.search(rf"\b{name}\b", headline + details) is None

        chart = console.say("bram@team: /quickscan grafiek")
        (posted,) = texts_for(chart, "team")
        assert "Ervaring en belang per stelling (6 ingevulde vragenlijsten)" in posted
        image = Path(posted.split("[afbeelding: ")[1].rstrip("]"))
        data = image.read_bytes()
        assert data.startswith(b"\x89PNG")
        assert len(data) > 10_000

        exported = console.say("anna@team: /quickscan export")
        (dm,) = texts_for(exported, "dm:anna")
        workbook = load_workbook(Path(dm.split("[bestand: ")[1].rstrip("]")))
        sheet = workbook["Per stelling"]
        rows = list(sheet.iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        assert len(body) == 11
        by_number = {row[0]: dict(zip(header, row, strict=True)) for row in body}
        assert by_number[1]["Stelling"] == "Het kennen van de thuissituatie"
        assert by_number[1]["Kloof"] == pytest.approx(1.0)
        assert by_number[1]["Voorgestelde prioriteit"] == 1
        assert by_number[10]["Vraag belang"] == (
            "De toekomst van de leerling leidraad is in de contactmomenten?"
        )
        assert by_number[10]["Kloof"] == pytest.approx(0.5)
        assert by_number[10]["Voorgestelde prioriteit"] == 2
        assert by_number[4]["Voorgestelde prioriteit"] is None
        assert by_number[4]["ervaring: redelijk (aantal)"] == 6
        assert by_number[11]["Redelijk tot zeer belangrijk"] == 0

        # A second round of the same survey: the gap per statement since the first.
        clock.advance(days=60)
        console.say("anna@team: /quickscan start ervaring-belang")
        for index, name in enumerate(SIX):
            answers = _answers(index) | {"e01": "4" if index < 3 else "3"}
            _fill(console, name, answers)
        again = texts_for(console.say("anna@team: /quickscan sluit"), "team")
        assert (
            "Kloof: 50 procentpunten (vorige ronde 100 procentpunten; -50 procentpunten)"
            in (again[1])
        )
        assert "Kloof: 0 procentpunten (vorige ronde 0 procentpunten; 0 procentpunten)" in again[1]
    finally:
        console.store.close()


def test_three_or_four_mentors_see_coarse_labels_only(
    database_url: str, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    original = AnswerRepository.submitted_answers

    def counted(self: AnswerRepository, *, key: TeamKey, round_id: int) -> list[dict[str, str]]:
        reads.append(round_id)
        return original(self, key=key, round_id=round_id)

    monkeypatch.setattr(AnswerRepository, "submitted_answers", counted)
    members = SIX[:4]
    console = make_console(
        database_url=database_url,
        members=members,
        clock=clock,
        output_dir=tmp_path,
        coordinator="anna",
    )
    try:
        console.say("anna@team: /quickscan minimum 3")
        console.say("anna@team: /quickscan start ervaring-belang")
        for index, name in enumerate(members):
            _fill(console, name, _answers(index))
        reads.clear()
        headline, *rest = texts_for(console.say("anna@team: /quickscan sluit"), "team")
        assert rest == []
        assert len(reads) == 1  # the answers are read once to freeze the round
        assert "*Grof beeld per onderdeel.*" in headline
        assert "Algemeen — ervaring: " in headline
        assert "Het gesprek — ervaring: overwegend 3 of 4 · belang: verdeeld" in headline
        assert "%" not in headline
        assert "procentpunt" not in headline
        assert "[afbeelding" not in headline
        chart = console.say("bram@team: /quickscan grafiek")
        assert texts_for(chart, "team") == []
        exported = console.say("anna@team: /quickscan export")
        assert texts_for(exported, "dm:anna") == []
    finally:
        console.store.close()


def test_below_the_minimum_only_participation(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    console = make_console(
        database_url=database_url, members=SIX, clock=clock, output_dir=tmp_path
    )
    try:
        console.say("anna@team: /quickscan start ervaring-belang")
        for index, name in enumerate(SIX[:2]):
            _fill(console, name, _answers(index))
        (headline,) = texts_for(console.say("anna@team: /quickscan sluit"), "team")
        assert "Deelname: 2 van de 6 uitgenodigde teamleden." in headline
        assert "Resultaten komen pas vanaf 5 ingevulde vragenlijsten" in headline
        assert "Grof beeld" not in headline
    finally:
        console.store.close()


def test_the_quickscan_is_unchanged_beside_it(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    console = make_console(
        database_url=database_url, members=SIX, clock=clock, output_dir=tmp_path
    )
    try:
        started = console.say("anna@team: /quickscan start")
        assert (
            "Quickscan samenwerken met ouders in het basisonderwijs"
            in texts_for(started, "team")[0]
        )
        first = texts_for(console.say("bram@dm: start"), "dm:bram")[-1]
        assert "vraag 1 van 48" in first
        assert "(1) ++  (2) +  (3) +/-  (4) -  (5) --  (6) ?" in first
        helped = console.say("bram@team: /quickscan help")
        assert "ervaring-belang" in texts_for(helped, "team>bram")[0]
        bad = console.say("anna@team: /quickscan sluit", "anna@team: /quickscan start mentoren")
        assert "Instrumenten: ervaring-belang, quickscan-po." in texts_for(bad, "team>anna")[-1]
    finally:
        console.store.close()


# --- chart geometry, coarse guard and the snapshot ---------------------------------------


def _exact(survey: Quickscan, responses: list[dict[str, str]]) -> PairedResult:
    return _frozen(survey, responses, tier=Tier.EXACT, minimum=5)


def _frozen(
    survey: Quickscan, responses: list[dict[str, str]], *, tier: Tier, minimum: int
) -> PairedResult:
    """The result of ``responses`` as a round closed in ``tier`` freezes and reads it."""
    snapshot = RoundSnapshot(
        instrument_id=survey.id,
        respondents=len(responses),
        invited=len(responses),
        min_respondents=minimum,
        min_text_respondents=5,
        rules=DEFAULT_RULES,
        tier=tier,
    )
    frozen = freeze(
        snapshot=snapshot,
        instrument=survey,
        responses=responses,
        previous=None,
        rules=DEFAULT_RULES,
    )
    return paired_result(instrument=survey, snapshot=RoundSnapshot.from_json(frozen.to_json()))


def test_chart_geometry(survey: Quickscan) -> None:
    result = _exact(survey, [_answers(index) for index in range(6)])
    segments = bar_segments(result)
    bars: dict[tuple[int, bool], list[Any]] = {}
    for segment in segments:
        bars.setdefault((segment.statement, segment.importance), []).append(segment)
    assert len(bars) == 22
    for parts in bars.values():
        assert sum(part.width for part in parts) == pytest.approx(100.0)
        assert parts[0].left == 0.0
    # Experience above importance, statement 1 at the top; nobody "goed" for statement 1.
    (low,) = bars[(1, False)]
    assert (low.y, low.left, low.width, low.colour) == (0.0, 0.0, 100.0, "#d9d9d9")
    assert bars[(1, True)][0].y == 1.0
    assert bars[(10, False)][0].width == pytest.approx(50.0)
    assert bars[(10, False)][0].y == 27.0


def test_nothing_is_drawn_without_exact_figures(survey: Quickscan) -> None:
    result = _exact(survey, [_answers(index) for index in range(6)])
    coarse = PairedResult(
        **{**{n: getattr(result, n) for n in PairedResult.__slots__}, "tier": Tier.COARSE}
    )
    with pytest.raises(ValueError, match="no exact figures"):
        bar_segments(coarse)


def test_coarse_labels_never_pin_an_answer(survey: Quickscan) -> None:
    responses = [_answers(index) for index in range(3)]
    labels = group_labels(instrument=survey, responses=responses, rules=DEFAULT_RULES)
    assert labels["ervaring:gesprek"] is Label.GAAT_GOED
    assert labels["belang:algemeen"] is Label.GAAT_GOED
    assert len(labels) == 8
    # Swapping an answer within its group (3 <-> 4, 1 <-> 2) changes no label.
    swapped = [dict(r) for r in responses]
    swapped[0] = {
        item: {"1": "2", "2": "1", "3": "4", "4": "3"}[v] for item, v in swapped[0].items()
    }
    assert group_labels(instrument=survey, responses=swapped, rules=DEFAULT_RULES) == labels


def _coarse(survey: Quickscan, responses: list[dict[str, str]]) -> PairedResult:
    return _frozen(survey, responses, tier=Tier.COARSE, minimum=3)


def test_a_section_nobody_answered_reads_too_few_answers(survey: Quickscan) -> None:
    algemeen = {"e01", "e02"}
    responses = [
        {item: code for item, code in _answers(index).items() if item not in algemeen}
        for index in range(3)
    ]
    labels = group_labels(instrument=survey, responses=responses, rules=DEFAULT_RULES)
    assert labels["ervaring:algemeen"] is Label.WEINIG_ZICHT
    headline, _ = render_paired(result=_coarse(survey, responses), texts=Catalogue("nl"))
    assert "Algemeen — ervaring: te weinig antwoorden · belang: " in headline
    english, _ = render_paired(result=_coarse(survey, responses), texts=Catalogue("en"))
    assert "experience: too few answers" in english


def _six_points(tmp_path: Path) -> Quickscan:
    """The survey on a 6-point scale: the texts must name 1-6, 4-6 and 1-3."""
    data = copy.deepcopy(_data())
    options = [{"code": str(n), "label": f"l{n}", "score": n} for n in range(1, 7)]
    data["scale"]["options"] = options
    for scale in data["paired"]["scales"].values():
        scale["options"] = options
    for name in ("experience", "importance"):
        data["paired"][name]["categories"]["high"]["scores"] = [6]
        data["paired"][name]["categories"]["middle"]["scores"] = [4, 5]
        data["paired"][name]["categories"]["low"]["scores"] = [1, 2, 3]
    path = tmp_path / FILE
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_instrument(path)


def test_the_texts_name_the_numbers_of_the_scale(survey: Quickscan, tmp_path: Path) -> None:
    variant = _six_points(tmp_path)
    paired = variant.paired_or_raise()
    experience = {item.id: "6" for item in paired.experience.items}
    importance = {item.id: "1" for item in paired.importance.items}
    responses = [{**experience, **importance} for _ in range(3)]
    headline, _ = render_paired(result=_coarse(variant, responses), texts=Catalogue("nl"))
    assert "Een label telt alleen de antwoorden 4, 5 en 6 tegenover 1, 2 en 3," in headline
    assert "Algemeen — ervaring: overwegend 4, 5 of 6 · belang: overwegend nauwelijks" in (
        headline
    )
    english, _ = render_paired(result=_coarse(variant, responses), texts=Catalogue("en"))
    assert "A label only counts the answers 4, 5, and 6 against 1, 2, and 3," in english
    assert "experience: mostly 4, 5, or 6" in english
    # The packaged survey still reads as before.
    four, _ = render_paired(
        result=_coarse(survey, [_answers(index) for index in range(3)]), texts=Catalogue("nl")
    )
    assert "de antwoorden 3 en 4 tegenover 1 en 2" in four
    assert "ervaring: overwegend 3 of 4" in four
    # The intro names the scale's range.
    for instrument, words in ((variant, "1 tot en met 6"), (survey, "1 tot en met 4")):
        participation = Participation(
            id=1,
            round_id=1,
            key=ConversationKey(platform="console", workspace="w", team="t", user="bram"),
            display_name="Bram",
            state=ParticipationState.INVITED,
            position=0,
            invited_at=datetime(2027, 1, 4, tzinfo=UTC),
            started_at=None,
            submitted_at=None,
        )
        turn = Turn(
            participation=participation,
            instrument=instrument,
            texts=Catalogue("nl"),
            answers={},
            round_open=True,
        )
        intro = invitation(turn, opened_by="Anna").text
        assert f"Je antwoordt met een cijfer van {words};" in intro


def test_snapshot_keeps_paired_fields_and_reads_old_ones(survey: Quickscan) -> None:
    responses = [_answers(index) for index in range(6)]
    counts = item_counts(instrument=survey, responses=responses)
    assert counts["e01"] == {"1": 3, "2": 3, "3": 0, "4": 0}
    snapshot = RoundSnapshot(
        instrument_id=survey.id,
        respondents=6,
        invited=6,
        min_respondents=5,
        min_text_respondents=5,
        rules=DEFAULT_RULES,
        tier=Tier.EXACT,
        item_counts=counts,
        before_counts=counts,
        group_labels={"ervaring:algemeen": Label.WERKPUNT},
    )
    again = RoundSnapshot.from_json(snapshot.to_json())
    assert again.before_counts == counts
    assert again.group_labels == {"ervaring:algemeen": Label.WERKPUNT}
    old = json.loads(snapshot.to_json())
    del old["before_counts"], old["group_labels"]
    legacy = RoundSnapshot.from_json(json.dumps(old))
    assert legacy.before_counts == {}
    assert legacy.group_labels == {}
