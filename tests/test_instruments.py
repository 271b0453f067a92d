"""Tests for the instrument files and their loader.

The quickscan texts are the instrument itself, so besides the structure these tests pin
the exact wording against the source document, and they make sure a broken file is
rejected at start with a message that tells the editor where the mistake is.
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conversations.instrument import (
    Checklist,
    InstrumentError,
    Quickscan,
    load_instrument,
    load_instruments,
    packaged_dir,
)

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
PO_FILE = "quickscan-po.yaml"
CHECKLIST_FILE = "checklist-oudercontact.yaml"

EXPECTED_PER_FACTOR = {1: 13, 2: 4, 3: 4, 4: 2, 5: 6, 6: 5, 7: 4, 8: 3, 9: 3, 10: 4}


@pytest.fixture(scope="module")
def quickscan() -> Quickscan:
    """The packaged primary-school quickscan."""
    instrument = load_instruments()["quickscan-po"]
    assert isinstance(instrument, Quickscan)
    return instrument


@pytest.fixture(scope="module")
def checklist() -> Checklist:
    """The packaged per-pupil checklist."""
    instrument = load_instruments()["checklist-oudercontact"]
    assert isinstance(instrument, Checklist)
    return instrument


def _po_data() -> dict[str, Any]:
    """Return the packaged PO quickscan as plain data, to derive broken variants from."""
    data = yaml.safe_load((packaged_dir() / PO_FILE).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _normalise_seed(text: str) -> str:
    """Undo the PDF extraction: join hyphenated and split words, collapse whitespace."""
    text = re.sub(r"(\w)-[ \t]*\n\s*(\w)", r"\1\2", text)
    text = re.sub(r"\baan\s+(dragen|wezig)\b", r"aan\1", text)
    return " ".join(text.split())


def _seed(prefix: str) -> str:
    if not SEEDS.is_dir():
        pytest.skip(f"source documents not available at {SEEDS}")
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return _normalise_seed(path.read_text(encoding="utf-8"))


# --- the packaged quickscan ---------------------------------------------------------------


def test_packaged_instruments_are_all_loaded() -> None:
    instruments = load_instruments()

    # The mentor survey (tests/test_mentor_survey.py) is a quickscan with a paired survey.
    assert set(instruments) == {"quickscan-po", "checklist-oudercontact", "ervaring-belang"}
    assert all(instrument.id == key for key, instrument in instruments.items())


def test_quickscan_has_48_questions_over_10_factors(quickscan: Quickscan) -> None:
    assert quickscan.kind == "quickscan"
    assert quickscan.school_type == "po"
    assert len(quickscan.questions) == 48
    assert [factor.number for factor in quickscan.factors] == list(range(1, 11))
    counts = {f.number: len(quickscan.questions_of(f.number)) for f in quickscan.factors}
    assert counts == EXPECTED_PER_FACTOR
    assert [question.id for question in quickscan.questions] == [
        f"q{number:02d}" for number in range(1, 49)
    ]


def test_questions_are_grouped_by_factor_in_order(quickscan: Quickscan) -> None:
    numbers = [question.factor for question in quickscan.questions]

    assert numbers == sorted(numbers)


def test_factor_names_and_sentences(quickscan: Quickscan) -> None:
    short_names = [factor.short_name for factor in quickscan.factors]

    assert short_names == [
        "welkom",
        "kennismaken",
        "alle ouders",
        "regie leerling",
        "wederkerigheid",
        "gesprek thuis",
        "positieve aandacht",
        "schoolloopbaan",
        "ontwikkelpunten",
        "perspectief",
    ]
    assert quickscan.factor(1).sentence == "zorg dat ouders zich welkom voelen"
    assert quickscan.factor(8).sentence == (
        "neem de schoolloopbaanontwikkeling van de leerling als leidraad voor het contact "
        "met ouders"
    )
    assert quickscan.factor(10).sentence == (
        "buig teleurstellingen in de schoolloopbaan om naar nieuw perspectief"
    )


def test_clusters_group_the_factors(quickscan: Quickscan) -> None:
    clusters = {
        cluster.id: (
            cluster.name,
            cluster.grade_label,
            [f.number for f in quickscan.factors_of(cluster.id)],
        )
        for cluster in quickscan.clusters
    }

    assert clusters == {
        "contact": ("CONTACT", "Attitude en organisatie", [1, 2, 3]),
        "samenwerking": ("SAMENWERKING", "Relatie", [4, 5, 6, 7]),
        "toekomstperspectief": ("TOEKOMSTPERSPECTIEF", "Afstemming", [8, 9, 10]),
    }
    assert [cluster.id for cluster in quickscan.clusters] == [
        "contact",
        "samenwerking",
        "toekomstperspectief",
    ]
    assert quickscan.clusters[0].title == (
        "Succesfactoren voor het leggen van contact tussen school en ouders"
    )
    assert quickscan.cluster_of(5).id == "samenwerking"
    assert quickscan.cluster_of(10).id == "toekomstperspectief"


def test_factor_1_has_three_subthemes(quickscan: Quickscan) -> None:
    welkom = quickscan.factor(1)
    per_subtheme = {
        subtheme.id: sum(1 for q in quickscan.questions_of(1) if q.subtheme == subtheme.id)
        for subtheme in welkom.subthemes
    }

    assert per_subtheme == {"vriendelijkheid": 5, "toegankelijkheid": 4, "duidelijkheid": 4}
    assert all(not factor.subthemes for factor in quickscan.factors[1:])
    assert all(question.subtheme is None for question in quickscan.questions[13:])
    assert quickscan.subtheme_name(quickscan.questions[5]) == "toegankelijkheid"
    assert quickscan.subtheme_name(quickscan.questions[13]) is None


def test_four_aspects_in_their_order(quickscan: Quickscan) -> None:
    assert [aspect.name for aspect in quickscan.aspects] == [
        "positieve attitude",
        "basale organisatie",
        "wederkerige relatie",
        "wederzijdse afstemming",
    ]
    assert quickscan.aspects[0].description.startswith(
        "De school (h)erkent de rol van ouders en vindt het belangrijk om met ouders samen"
    )


def test_quickscan_scale(quickscan: Quickscan) -> None:
    scale = quickscan.scale

    assert scale.codes() == ("++", "+", "+/-", "-", "--", "?")
    assert [option.score for option in scale.scored()] == [5, 4, 3, 2, 1]
    assert scale.by_code("?").score is None
    assert scale.by_code("?").label == "weet ik niet / geen zicht"
    assert scale.by_code("+/-").score == 3
    with pytest.raises(KeyError):
        scale.by_code("+++")


def test_closing_page(quickscan: Quickscan) -> None:
    closing = quickscan.closing

    assert closing.grade_question == (
        "Welk cijfer geeft u de school voor elk aspect van de samenwerking met ouders?"
    )
    assert (closing.grade_min, closing.grade_max) == (1, 10)
    assert [cluster.grade_label for cluster in quickscan.clusters] == [
        "Attitude en organisatie",
        "Relatie",
        "Afstemming",
    ]
    assert {question.id: question.text for question in closing.open_questions} == {
        "priority": (
            "Waar zou de school prioriteit aan moeten geven in het verbeteren van de "
            "samenwerking met ouders?"
        ),
        "support": "Hoe kan de school draagvlak verkrijgen bij het team voor deze verbetering?",
        "first_step": "Wat is een goede eerste stap in de verbetering?",
    }


@pytest.mark.parametrize(
    ("question_id", "text"),
    [
        ("q01", "Vindt de school het belangrijk om samen te werken met ouders?"),
        (
            "q04",
            "Heeft het personeel (van directeur tot conciërge) een vriendelijke, "
            "uitnodigende houding naar ouders?",
        ),
        (
            "q21",
            "Is van elke leerling duidelijk met wie de leerkracht contact onderhoudt (ook bij "
            "gescheiden ouders en ook als het contact met de ouders niet mogelijk of "
            "voldoende is)?",
        ),
        (
            "q26",
            "Kunnen ouders en leerlingen zelf onderwerpen aandragen om te bespreken tijdens "
            "contactmomenten?",
        ),
        (
            "q33",
            "Is er een huiswerkbeleid, waarin de rol van ouders duidelijk is en dat past bij "
            "de mogelijkheden van de ouders?",
        ),
        (
            "q39",
            "Vormen de interesses, talenten, ambities en toekomstplannen van de leerling de "
            "leidraad in het gesprek met ouders?",
        ),
        (
            "q46",
            "Maken leerkrachten concreet hoe ouders hun kind bemoedigend kunnen begeleiden bij "
            "de schoolloopbaankeuzes?",
        ),
        (
            "q48",
            "Is voor ouders door de leerjaren heen navolgbaar hoe het schooladvies in groep 8 "
            "tot stand komt?",
        ),
    ],
)
def test_question_texts_are_verbatim(quickscan: Quickscan, question_id: str, text: str) -> None:
    question = quickscan.questions[quickscan.question_index(question_id)]

    assert question.text == text


def test_every_question_text_is_in_the_source_in_order(quickscan: Quickscan) -> None:
    seed = _seed("000")
    position = 0
    for question in quickscan.questions:
        assert question.text == " ".join(question.text.split())
        found = seed.find(question.text, position)
        assert found >= 0, f"{question.id} not found (in order) in the source: {question.text}"
        position = found + len(question.text)


def test_factor_sentences_and_aspects_are_in_the_source(quickscan: Quickscan) -> None:
    seed = _seed("001")

    for factor in quickscan.factors:
        assert factor.sentence in seed, factor.sentence
    for aspect in quickscan.aspects:
        assert aspect.description in seed, aspect.id


def test_helpers_reject_unknown_keys(quickscan: Quickscan) -> None:
    with pytest.raises(KeyError):
        quickscan.factor(11)
    with pytest.raises(KeyError):
        quickscan.questions_of(0)
    with pytest.raises(KeyError):
        quickscan.factors_of("relatie")
    with pytest.raises(KeyError):
        quickscan.question_index("q49")
    assert quickscan.question_index("q48") == 47


# --- the packaged checklist ---------------------------------------------------------------


def test_checklist(checklist: Checklist) -> None:
    assert checklist.kind == "checklist"
    assert [(group.id, group.name) for group in checklist.groups] == [
        ("contact", "Contact"),
        ("samenwerking", "Samenwerking"),
        ("achtergrond", "Achtergrond van de leerling"),
    ]
    assert [statement.group for statement in checklist.statements] == [
        "contact",
        "samenwerking",
        "samenwerking",
        "achtergrond",
        "achtergrond",
        "achtergrond",
    ]
    assert checklist.statements[0].text == (
        "van deze leerling was een ouder aanwezig bij het rapportgesprek en bij de "
        "collectieve ouderavond"
    )
    assert checklist.scale.codes() == ("1", "2", "3", "4")
    assert [(o.label, o.score) for o in checklist.scale.options] == [
        ("niet", 1),
        ("nauwelijks", 2),
        ("redelijk", 3),
        ("goed", 4),
    ]


def test_every_statement_text_is_in_the_source(checklist: Checklist) -> None:
    seed = _seed("004")

    for statement in checklist.statements:
        assert statement.text in seed, statement.id


# --- broken files -------------------------------------------------------------------------


def _duplicate_question_id(data: dict[str, Any]) -> None:
    data["questions"][7]["id"] = "q01"


def _unknown_factor(data: dict[str, Any]) -> None:
    data["questions"][7]["factor"] = 11


def _missing_subtheme(data: dict[str, Any]) -> None:
    del data["questions"][2]["subtheme"]


def _subtheme_on_factor_without_subthemes(data: dict[str, Any]) -> None:
    data["questions"][20]["subtheme"] = "vriendelijkheid"


def _duplicate_scale_code(data: dict[str, Any]) -> None:
    data["scale"]["options"][3]["code"] = "+"


def _duplicate_score(data: dict[str, Any]) -> None:
    data["scale"]["options"][4]["score"] = 2


def _one_scored_option(data: dict[str, Any]) -> None:
    for option in data["scale"]["options"][1:]:
        option["score"] = None


def _missing_question_text(data: dict[str, Any]) -> None:
    del data["questions"][3]["text"]


def _misspelt_key(data: dict[str, Any]) -> None:
    data["factors"][1]["sentense"] = data["factors"][1].pop("sentence")


def _unknown_cluster(data: dict[str, Any]) -> None:
    data["factors"][4]["cluster"] = "relatie"


def _empty_cluster(data: dict[str, Any]) -> None:
    for factor in data["factors"]:
        if factor["cluster"] == "samenwerking":
            factor["cluster"] = "contact"


def _duplicate_factor_number(data: dict[str, Any]) -> None:
    data["factors"][2]["number"] = 2


def _duplicate_open_question(data: dict[str, Any]) -> None:
    data["closing"]["open_questions"][2]["id"] = "priority"


def _no_questions(data: dict[str, Any]) -> None:
    del data["questions"]


def _grades_without_grade_question(data: dict[str, Any]) -> None:
    del data["closing"]["grade_question"]


def _unknown_kind(data: dict[str, Any]) -> None:
    data["kind"] = "survey"


def _missing_kind(data: dict[str, Any]) -> None:
    del data["kind"]


@pytest.mark.parametrize(
    ("break_it", "location"),
    [
        (_duplicate_question_id, "questions.7.id"),
        (_unknown_factor, "questions.7.factor: factor 11 is not defined"),
        (_missing_subtheme, "questions.2.subtheme"),
        (_subtheme_on_factor_without_subthemes, "questions.20.subtheme"),
        (_duplicate_scale_code, "scale.options.3.code"),
        (_duplicate_score, "scale.options.4.score"),
        (_one_scored_option, "scale.options"),
        (_missing_question_text, "questions.3.text: Field required"),
        (_misspelt_key, "factors.1.sentense"),
        (_unknown_cluster, "factors.4.cluster"),
        (_empty_cluster, "clusters.1"),
        (_duplicate_factor_number, "factors.2.number"),
        (_duplicate_open_question, "closing.open_questions.2.id"),
        (_no_questions, "questions: a quickscan needs at least one question"),
        (_grades_without_grade_question, "closing.grade_question: the closing page asks"),
        (_unknown_kind, "kind: Input tag 'survey'"),
        (_missing_kind, "kind: Field required"),
    ],
)
def test_broken_quickscan_names_file_and_field(
    tmp_path: Path, break_it: Callable[[dict[str, Any]], None], location: str
) -> None:
    data = copy.deepcopy(_po_data())
    break_it(data)
    path = _write(tmp_path / "broken-quickscan.yaml", data)

    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)

    message = str(caught.value)
    assert "broken-quickscan.yaml" in message
    assert location in message
    assert caught.value.path == path


def test_checklist_statement_with_unknown_group(tmp_path: Path) -> None:
    data = yaml.safe_load((packaged_dir() / CHECKLIST_FILE).read_text(encoding="utf-8"))
    data["statements"][4]["group"] = "gezin"
    path = _write(tmp_path / "broken-checklist.yaml", data)

    with pytest.raises(InstrumentError, match=r"broken-checklist\.yaml: statements\.4\.group"):
        load_instrument(path)


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("kind: quickscan\nid: [unclosed\ntitle: x\n", encoding="utf-8")

    with pytest.raises(InstrumentError, match=r"bad\.yaml: line \d+, column \d+: invalid YAML"):
        load_instrument(path)


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- kind: quickscan\n", encoding="utf-8")

    with pytest.raises(InstrumentError, match=r"list\.yaml: \(top level\)"):
        load_instrument(path)


def test_instruments_are_immutable(quickscan: Quickscan) -> None:
    with pytest.raises(ValueError, match="frozen"):
        quickscan.title = "changed"


# --- extra directories --------------------------------------------------------------------


def test_variant_in_extra_directory_needs_no_code(tmp_path: Path) -> None:
    data = _po_data()
    data["id"] = "quickscan-vo"
    data["school_type"] = "vo"
    data["title"] = "Quickscan samenwerken met ouders in het voortgezet onderwijs"
    _write(tmp_path / "quickscan-vo.yaml", data)

    instruments = load_instruments(directories=[tmp_path])

    assert list(instruments) == [
        "checklist-oudercontact",
        "ervaring-belang",
        "quickscan-po",
        "quickscan-vo",
    ]
    variant = instruments["quickscan-vo"]
    assert isinstance(variant, Quickscan)
    assert variant.school_type == "vo"
    assert len(variant.questions) == 48


def test_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    copied = tmp_path / "my-quickscan.yaml"
    shutil.copyfile(packaged_dir() / PO_FILE, copied)

    with pytest.raises(InstrumentError) as caught:
        load_instruments(directories=[tmp_path])

    message = str(caught.value)
    assert "my-quickscan.yaml" in message
    assert PO_FILE in message
    assert "'quickscan-po'" in message


def test_broken_file_in_extra_directory_stops_loading(tmp_path: Path) -> None:
    (tmp_path / "half.yaml").write_text("kind: checklist\nid: half\n", encoding="utf-8")

    with pytest.raises(InstrumentError, match=r"half\.yaml: title: Field required"):
        load_instruments(directories=[tmp_path])


def test_missing_extra_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError, match="does not exist"):
        load_instruments(directories=[tmp_path / "nowhere"])
