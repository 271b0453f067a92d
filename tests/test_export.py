"""Tests for the Excel export: layout, figures, and that nothing identifying leaves the bot."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zipfile import ZipFile

import pytest
from openpyxl import load_workbook

from bot.results.export import export_workbook
from bot.results.files import ResultFiles, export_attachment
from bot.results.merge import merge
from bot.results.snapshot import RoundSnapshot
from bot.results.team_result import TeamResult
from conversations.core.i18n import Catalogue
from conversations.instrument import Quickscan, load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.results.store import ResultStore

GENERATED_AT = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
CODES = ("++", "+", "+/-", "-", "--", "?")
RESPONDENTS = 6
# Per respondent: q01 is spread over the scale, q48 leans negative, the rest is all "+".
Q01 = ("++", "++", "+", "+/-", "-", "?")
Q48 = ("--", "--", "-", "-", "+/-", "++")
CONTACT_GRADES = ("7", "8", "6", "7", "9", "x")  # "x" is no grade: 5 grades, mean 7.4
OPEN_TEXT = "Geheime-tekst-van-juf-Jansen"
NL_SHEETS = ["Toelichting", "Vragen", "Succesfactoren", "Clusters"]


def _instrument() -> Quickscan:
    instrument = load_instruments()["quickscan-po"]
    assert isinstance(instrument, Quickscan)
    return instrument


def _identifier(index: int) -> str:
    return f"respondent-{index}-U0SECRET"


def _responses() -> list[dict[str, str]]:
    """Six hand-made quickscans, each with an identifier and open answers the export drops."""
    responses = []
    for index in range(RESPONDENTS):
        answers = {f"q{number:02d}": "+" for number in range(2, 48)}
        answers["q01"] = Q01[index]
        answers["q48"] = Q48[index]
        answers["grade:contact"] = CONTACT_GRADES[index]
        answers["grade:samenwerking"] = "6"
        answers["open:priority"] = f"{OPEN_TEXT} {index}"
        answers["open:first_step"] = OPEN_TEXT
        answers["respondent"] = _identifier(index)
        responses.append(answers)
    return responses


def _result(*, instrument: Quickscan | None = None) -> TeamResult:
    return merge(
        instrument=instrument or _instrument(),
        responses=_responses(),
        invited=8,
        min_respondents=5,
        min_text_respondents=5,
    )


def _export(
    path: Path, *, texts: Catalogue | None = None, result: TeamResult | None = None
) -> Path:
    return export_workbook(
        result=result or _result(),
        instrument=_instrument(),
        path=path,
        texts=texts or Catalogue("nl"),
        generated_at=GENERATED_AT,
    )


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The Dutch export of the hand-made result, reopened."""
    path = _export(tmp_path_factory.mktemp("export") / "team.xlsx")
    return load_workbook(path)


def _rows(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _by_header(sheet: Any, row: int) -> dict[str, Any]:
    headers = [cell.value for cell in sheet[1]]
    return dict(zip(headers, (cell.value for cell in sheet[row]), strict=True))


def _all_cells(workbook: Any) -> Iterator[Any]:
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            yield from row


def test_sheets_are_named_from_the_catalogue(workbook: Any) -> None:
    assert workbook.sheetnames == NL_SHEETS


def test_item_header_has_a_count_and_share_per_code(workbook: Any) -> None:
    header = [cell.value for cell in workbook["Vragen"][1]]
    assert header == [
        "Nr",
        "Succesfactor",
        "Vraag",
        "Antwoorden",
        *(f"Aantal {code}" for code in CODES),
        *(f"Aandeel {code}" for code in CODES),
        "Gemiddelde (1-5)",
        "Spreiding (sd)",
        "Label",
    ]
    # The share of "?" is one of the share columns, so no header appears twice.
    assert len(set(header)) == len(header)


def test_tables_have_one_row_per_item_factor_and_cluster(workbook: Any) -> None:
    assert len(_rows(workbook["Vragen"])) == 1 + 48
    assert len(_rows(workbook["Succesfactoren"])) == 1 + 10
    assert len(_rows(workbook["Clusters"])) == 1 + 3
    assert [row[0] for row in _rows(workbook["Vragen"])[1:]] == list(range(1, 49))


@pytest.mark.parametrize(
    ("sheet", "columns"), [("Vragen", 19), ("Succesfactoren", 19), ("Clusters", 18)]
)
def test_tables_have_a_bold_frozen_filtered_header(
    workbook: Any, sheet: str, columns: int
) -> None:
    table = workbook[sheet]
    assert table.max_column == columns
    assert all(cell.font.bold for cell in table[1])
    assert table.freeze_panes == "A2"
    assert (
        table.auto_filter.ref
        == f"A1:{table.cell(row=1, column=columns).column_letter}{table.max_row}"
    )
    assert all(table.column_dimensions[cell.column_letter].width > 0 for cell in table[1])


def test_item_figures_match_the_answers(workbook: Any) -> None:
    q01 = _by_header(workbook["Vragen"], 2)
    assert q01["Nr"] == 1
    assert q01["Succesfactor"] == "1. welkom"
    assert q01["Vraag"] == "Vindt de school het belangrijk om samen te werken met ouders?"
    assert q01["Antwoorden"] == RESPONDENTS
    counts = {code: Q01.count(code) for code in CODES}
    assert {code: q01[f"Aantal {code}"] for code in CODES} == counts
    for code in CODES:
        assert q01[f"Aandeel {code}"] == pytest.approx(counts[code] / RESPONDENTS)
    scores = [5, 5, 4, 3, 2]
    mean = sum(scores) / len(scores)
    assert q01["Gemiddelde (1-5)"] == pytest.approx(mean)
    stdev = math.sqrt(sum((score - mean) ** 2 for score in scores) / len(scores))
    assert q01["Spreiding (sd)"] == pytest.approx(stdev)
    assert q01["Label"] == "gemengd"

    q02 = _by_header(workbook["Vragen"], 3)
    assert q02["Aantal +"] == RESPONDENTS
    assert q02["Label"] == "gaat goed"
    q48 = _by_header(workbook["Vragen"], 49)
    assert q48["Nr"] == 48
    assert q48["Label"] == "werkpunt"


def test_numbers_are_numbers_with_formats(workbook: Any) -> None:
    sheet = workbook["Vragen"]
    header = {cell.value: cell.column for cell in sheet[1]}
    count = sheet.cell(row=2, column=header["Aantal ++"])
    share = sheet.cell(row=2, column=header["Aandeel ++"])
    mean = sheet.cell(row=2, column=header["Gemiddelde (1-5)"])
    assert isinstance(count.value, int)
    assert isinstance(share.value, float)
    assert share.number_format == "0%"
    assert mean.number_format == "0.00"


def test_factor_figures_pool_their_items(workbook: Any) -> None:
    welkom = _by_header(workbook["Succesfactoren"], 2)
    assert welkom["Nr"] == 1
    assert welkom["Succesfactor"] == "welkom"
    assert welkom["Cluster"] == "CONTACT"
    # Factor 1 has 13 items: q01 plus twelve items that everybody answered with "+".
    assert welkom["Antwoorden"] == 13 * RESPONDENTS
    assert welkom["Aantal +"] == 1 + 12 * RESPONDENTS
    assert welkom["Aantal ?"] == 1
    assert welkom["Aandeel ?"] == pytest.approx(1 / (13 * RESPONDENTS))
    assert welkom["Label"] == "gaat goed"


def test_cluster_figures_include_the_grades(workbook: Any) -> None:
    rows = {
        row["Cluster"]: row for row in (_by_header(workbook["Clusters"], r) for r in (2, 3, 4))
    }
    assert list(rows) == ["CONTACT", "SAMENWERKING", "TOEKOMSTPERSPECTIEF"]
    contact = rows["CONTACT"]
    assert contact["Antwoorden"] == 21 * RESPONDENTS
    assert contact["Gemiddeld cijfer"] == pytest.approx(7.4)
    assert contact["Aantal cijfers"] == 5
    assert rows["SAMENWERKING"]["Gemiddeld cijfer"] == pytest.approx(6)
    assert rows["SAMENWERKING"]["Aantal cijfers"] == RESPONDENTS
    assert rows["TOEKOMSTPERSPECTIEF"]["Gemiddeld cijfer"] is None
    assert rows["TOEKOMSTPERSPECTIEF"]["Aantal cijfers"] == 0


def test_about_sheet_explains_and_lists_thresholds(workbook: Any) -> None:
    about = workbook["Toelichting"]
    assert about["A1"].value == (
        "Samengevoegd teamresultaat van de quickscan Quickscan samenwerken met ouders in het"
        " basisonderwijs: 6 van 8 uitgenodigde teamleden. Geen individuele antwoorden."
    )
    assert about["A2"].value == GENERATED_AT.replace(tzinfo=None)
    thresholds = {row[0]: row[1] for row in _rows(about)[3:]}
    assert thresholds == _result().rules.as_mapping()


def test_no_respondent_identifier_or_open_answer_is_exported(workbook: Any) -> None:
    # The merge did carry the open answers: leaving them out is the export's doing.
    assert _result().open_answers["priority"]
    texts = [str(cell.value) for cell in _all_cells(workbook) if cell.value is not None]
    assert texts
    forbidden = [OPEN_TEXT, "U0SECRET", *(_identifier(index) for index in range(RESPONDENTS))]
    assert not [text for text in texts if any(word in text for word in forbidden)]
    assert not any("respondent" in text.lower() for text in texts)


@pytest.mark.parametrize("minimum", [5, 3])
def test_without_exact_figures_nothing_is_written(minimum: int, tmp_path: Path) -> None:
    # Below the minimum, and in the coarse tier (3-4 respondents): no workbook.
    result = merge(
        instrument=_instrument(),
        responses=_responses()[:4],
        invited=8,
        min_respondents=minimum,
        min_text_respondents=5,
    )
    path = tmp_path / "team.xlsx"
    with pytest.raises(ValueError, match="no exact figures"):
        _export(path, result=result)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_result_of_another_instrument_is_refused(tmp_path: Path) -> None:
    other = _instrument().model_copy(update={"id": "quickscan-vo"})
    with pytest.raises(ValueError, match="does not belong"):
        export_workbook(
            result=_result(),
            instrument=other,
            path=tmp_path / "team.xlsx",
            texts=Catalogue("nl"),
            generated_at=GENERATED_AT,
        )


def test_english_catalogue_gives_english_sheets(tmp_path: Path) -> None:
    workbook = load_workbook(_export(tmp_path / "team.xlsx", texts=Catalogue("en")))
    assert workbook.sheetnames == ["About", "Questions", "Success factors", "Clusters"]
    assert workbook["Questions"]["A1"].value == "No"
    assert _by_header(workbook["Questions"], 2)["Label"] == "mixed"


def test_output_is_deterministic_and_dated_by_the_caller(tmp_path: Path) -> None:
    first = _export(tmp_path / "a" / "b" / "team.xlsx")
    second = _export(tmp_path / "c" / "team.xlsx")
    assert first == tmp_path / "a" / "b" / "team.xlsx"
    assert first.read_bytes() == second.read_bytes()
    properties = load_workbook(first).properties
    assert properties.created == GENERATED_AT.replace(tzinfo=None)
    assert properties.modified == GENERATED_AT.replace(tzinfo=None)
    assert [path.name for path in first.parent.iterdir()] == ["team.xlsx"]
    # Zip entries would otherwise carry the wall clock, differing between seconds.
    with ZipFile(first) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {(2025, 1, 6, 9, 30, 0)}


def test_generated_at_is_stored_in_utc(tmp_path: Path) -> None:
    amsterdam = GENERATED_AT.astimezone(timezone(timedelta(hours=1)))
    path = export_workbook(
        result=_result(),
        instrument=_instrument(),
        path=tmp_path / "team.xlsx",
        texts=Catalogue("nl"),
        generated_at=amsterdam,
    )
    assert load_workbook(path)["Toelichting"]["A2"].value == GENERATED_AT.replace(tzinfo=None)


def test_naive_generated_at_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        export_workbook(
            result=_result(),
            instrument=_instrument(),
            path=tmp_path / "team.xlsx",
            texts=Catalogue("nl"),
            generated_at=GENERATED_AT.replace(tzinfo=None),
        )


def test_a_text_never_becomes_a_formula(tmp_path: Path) -> None:
    instrument = _instrument()
    first, *rest = instrument.questions
    formula = '=HYPERLINK("https://example.invalid","klik")'
    variant = instrument.model_copy(
        update={"questions": (first.model_copy(update={"text": formula}), *rest)}
    )
    path = export_workbook(
        result=_result(instrument=variant),
        instrument=variant,
        path=tmp_path / "team.xlsx",
        texts=Catalogue("nl"),
        generated_at=GENERATED_AT,
    )
    cell = load_workbook(path)["Vragen"]["C2"]
    assert cell.value == formula
    assert cell.data_type == "s"


# ------------------------------------------------- rendered at delivery, from the snapshot


def test_an_export_attachment_is_written_from_the_snapshot_dated_when_asked(
    store: Store, tmp_path: Path
) -> None:
    """The workbook is dated when the coordinator asked, not when the delivery wrote it."""
    instrument = _instrument()
    key = TeamKey(platform="console", workspace="w", team="t")
    asked = GENERATED_AT - timedelta(hours=2)
    store.ensure_team(key=key, founder="anna", now=asked)
    round_ = store.open_round(
        key=key, instrument_id=instrument.id, opened_by="anna", deadline=None, now=asked
    )
    store.close_round(key=key, round_id=round_.id, now=asked)
    result = _result()
    snapshot = RoundSnapshot.of(
        result=result, min_text_respondents=5, trend=(), fingerprints=None, legacy=False
    )
    results = ResultStore(engine=store.engine)
    results.save_if_absent(round_id=round_.id, snapshot=snapshot.to_json(), now=asked)
    files = ResultFiles(
        results=results, instruments={instrument.id: instrument}, output_dir=tmp_path / "out"
    )
    attachment = export_attachment(
        key=key,
        round_id=round_.id,
        instrument_id=instrument.id,
        locale="en",
        generated_at=GENERATED_AT,
    )

    written = files.export(**dict(attachment.args))
    again = files.export(**dict(attachment.args))

    assert again == written
    assert written.name == f"ronde-{round_.id}-teamresultaat.xlsx"
    direct = export_workbook(
        result=RoundSnapshot.from_json(snapshot.to_json()).result(instrument=instrument),
        instrument=instrument,
        path=tmp_path / "direct.xlsx",
        texts=Catalogue("en"),
        generated_at=GENERATED_AT,
    )
    assert written.read_bytes() == direct.read_bytes()
    assert load_workbook(written).properties.created == GENERATED_AT.replace(tzinfo=None)
    assert load_workbook(written).sheetnames != NL_SHEETS  # the language asked in
    with pytest.raises(ValueError, match="timezone-aware"):
        export_attachment(
            key=key,
            round_id=round_.id,
            instrument_id=instrument.id,
            locale="nl",
            generated_at=GENERATED_AT.replace(tzinfo=None),
        )
