"""Team aggregate, private comparison and the class export, as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.checklist.aggregate import ShareBand, Trend, render_team, team_aggregate
from bot.checklist.comparison import compare_class
from bot.checklist.export import export_class_workbook
from bot.results.anonymity import Tier
from conversations.checklist.scale import high_options, low_options
from conversations.core.i18n import Catalogue
from conversations.instrument import Checklist, load_instruments
from storage.checklist.records import ChecklistRound, ChecklistRoundStatus, ClassRound, Pupil

IDS = ("s1", "s2", "s3", "s4", "s5", "s6")
STAMP = datetime(2027, 1, 29, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def checklist() -> Checklist:
    found = load_instruments()["checklist-oudercontact"]
    assert isinstance(found, Checklist)
    return found


def row(codes: str) -> dict[str, str]:
    return dict(zip(IDS, codes, strict=True))


def a_round(number: int, round_id: int | None = None) -> ChecklistRound:
    return ChecklistRound(
        id=round_id or number,
        team_id=1,
        number=number,
        school_year=2026,
        status=ChecklistRoundStatus.CLOSED,
        opened_by="U-ida",
        opened_at=STAMP,
        deadline=None,
        closed_at=STAMP,
    )


def pupil(pupil_id: int, label: str) -> Pupil:
    return Pupil(id=pupil_id, teacher_id=1, position=pupil_id, created_at=STAMP, label=label)


def test_the_scale_halves(checklist: Checklist) -> None:
    assert [o.code for o in high_options(checklist)] == ["3", "4"]
    assert [o.code for o in low_options(checklist)] == ["1", "2"]


def test_aggregate_counts_complete_pupils_and_respects_the_minimum(
    checklist: Checklist,
) -> None:
    five = [[row("333333"), row("111111"), {"s1": "4"}] for _ in range(4)] + [[{"s1": "4"}]]
    below = team_aggregate(checklist=checklist, per_teacher=five, teachers=7, min_respondents=5)
    # The fifth teacher has no complete pupil: four took part, below the minimum.
    assert (below.took_part, below.teachers, below.shown) == (4, 7, False)
    assert below.statements == ()
    assert below.pupils == 0

    # Four teachers: coarse (bands, no number of pupils), whatever the minimum.
    three = team_aggregate(checklist=checklist, per_teacher=five, teachers=7, min_respondents=3)
    assert three.shown
    assert three.tier is Tier.COARSE
    assert three.pupils == 0
    assert [f.band for f in three.statements] == [ShareBand.MIDDLE] * 6

    later = [[row("443333"), row("121111")] for _ in range(4)]
    second = team_aggregate(
        checklist=checklist, per_teacher=later, teachers=7, min_respondents=3, previous=three
    )
    assert [f.trend for f in second.statements][:3] == [Trend.SAME] * 3
    assert second.change_tier is Tier.COARSE

    # Five teachers: exact, and exact changes only against an exact round 1.
    exact = team_aggregate(
        checklist=checklist, per_teacher=[*later, later[0]], teachers=7, min_respondents=3
    )
    assert (exact.tier, exact.pupils) == (Tier.EXACT, 10)
    assert exact.statements[0].high == 5
    after_coarse = team_aggregate(
        checklist=checklist,
        per_teacher=[*later, later[0]],
        teachers=7,
        min_respondents=3,
        previous=three,
    )
    assert after_coarse.change_tier is Tier.COARSE  # never sharper than round 1 was
    # A team minimum below the floor of 3 does not open figures at 2 teachers.
    two = team_aggregate(checklist=checklist, per_teacher=later[:2], teachers=2, min_respondents=1)
    assert (two.tier, two.shown) == (Tier.NONE, False)


def test_team_text_shows_figures_only_above_the_minimum(checklist: Checklist) -> None:
    texts = Catalogue("nl")
    first = team_aggregate(
        checklist=checklist,
        per_teacher=[[row("222222"), row("333333")]] * 5,
        teachers=5,
        min_respondents=5,
    )
    second = team_aggregate(
        checklist=checklist,
        per_teacher=[[row("332222"), row("333333")]] * 5,
        teachers=6,
        min_respondents=5,
        previous=first,
    )
    text = render_team(
        aggregate=second, checklist=checklist, round_=a_round(2), texts=texts, first=a_round(1)
    )
    assert "Deelname: 5 van 6 leraren." in text
    assert "Samen 10 leerlingen" in text
    assert "Aandeel leerlingen met 3 of 4 (redelijk of goed)" in text
    assert "*100 %* (+50 procentpunt sinds ronde 1)" in text
    assert "*50 %* (0 procentpunt sinds ronde 1)" in text
    few = team_aggregate(
        checklist=checklist, per_teacher=[[row("444444")]] * 2, teachers=2, min_respondents=5
    )
    short = render_team(aggregate=few, checklist=checklist, round_=a_round(1), texts=texts)
    assert short.splitlines()[1:] == [
        "Deelname: 2 van 2 leraren.",
        "Teamtotalen pas vanaf 5 deelnemende leraren, zodat geen klas herkenbaar is.",
    ]


def test_comparison_finds_improvement_and_orders_attention(checklist: Checklist) -> None:
    pupils = [pupil(1, "AB"), pupil(2, "CD"), pupil(3, "EF"), pupil(4, "GH")]
    first = ClassRound(
        round=a_round(1),
        scores={1: row("222222"), 2: row("333333"), 3: row("111111")},
        steps={1: "bel moeder"},
    )
    second = ClassRound(
        round=a_round(2, 2),
        scores={1: row("333333"), 2: row("333333"), 3: row("211111"), 4: row("444441")},
        steps={},
    )
    comparison = compare_class(checklist=checklist, pupils=pupils, first=first, second=second)
    assert [c.label for c in comparison.improved] == ["AB", "EF"]
    assert [c.label for c in comparison.attention] == ["EF", "GH"]  # totals 7, 21
    assert comparison.pupils[3].difference is None  # no round 1 for GH
    assert comparison.pupils[0].step == "bel moeder"
    assert "AB" not in repr(comparison)


def test_export_has_a_row_per_pupil_and_a_column_per_statement_and_round(
    checklist: Checklist, tmp_path: Path
) -> None:
    pupils = [pupil(1, "AB"), pupil(2, '=HYPERLINK("x")')]
    rounds = [
        ClassRound(round=a_round(1), scores={1: row("123412")}, steps={1: "bel moeder"}),
        ClassRound(round=a_round(2, 2), scores={1: row("234423"), 2: {"s1": "4"}}, steps={}),
    ]
    path = export_class_workbook(
        checklist=checklist,
        pupils=pupils,
        rounds=rounds,
        path=tmp_path / "klas.xlsx",
        texts=Catalogue("nl"),
        generated_at=STAMP,
    )
    sheet = load_workbook(path)["Klassenlijst"]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Nr", "Leerling", "R1 26/27 · 1"]
    assert header[8] == "R1 26/27 · verbeterstap"
    assert header[9] == "R2 26/27 · 1"
    assert len(header) == 2 + 2 * (6 + 1)
    first = [cell.value for cell in sheet[2]]
    assert first == [1, "AB", 1, 2, 3, 4, 1, 2, "bel moeder", 2, 3, 4, 4, 2, 3, None]
    second = sheet[3]
    assert second[1].value == '=HYPERLINK("x")'
    assert second[1].data_type == "s"  # a label is never a formula
    assert second[9].value == 4
    assert second[2].value is None

    # Byte for byte the same for the same data and moment, whatever the wall clock.
    again = export_class_workbook(
        checklist=checklist,
        pupils=pupils,
        rounds=rounds,
        path=tmp_path / "again.xlsx",
        texts=Catalogue("nl"),
        generated_at=STAMP.astimezone(timezone(timedelta(hours=1))),
    )
    assert again.read_bytes() == path.read_bytes()
    with pytest.raises(ValueError, match="timezone-aware"):
        export_class_workbook(
            checklist=checklist,
            pupils=pupils,
            rounds=rounds,
            path=tmp_path / "naive.xlsx",
            texts=Catalogue("nl"),
            generated_at=STAMP.replace(tzinfo=None),
        )


def test_export_survives_characters_xml_cannot_hold(checklist: Checklist, tmp_path: Path) -> None:
    """Stored odd characters (NUL, controls, a lone surrogate) never break the export."""
    pupils = [pupil(1, "A\x00B\x01"), pupil(2, "C\ud800D\uffff")]
    rounds = [
        ClassRound(
            round=a_round(1), scores={1: row("123412")}, steps={1: "bel\x0b moeder\x1f\ttwee"}
        )
    ]
    path = export_class_workbook(
        checklist=checklist,
        pupils=pupils,
        rounds=rounds,
        path=tmp_path / "odd.xlsx",
        texts=Catalogue("nl"),
        generated_at=STAMP,
    )
    sheet = load_workbook(path)["Klassenlijst"]
    assert [sheet.cell(row=r, column=2).value for r in (2, 3)] == ["AB", "CD"]
    assert sheet.cell(row=2, column=9).value == "bel moeder\ttwee"
