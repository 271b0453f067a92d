"""Tests for the PNG charts: they render, look like a diverging chart and refuse small teams."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from bot.delivery.attachments import AttachmentRenderers, AttachmentUnavailableError
from bot.results.chart import _shorten, factor_chart, item_chart
from bot.results.files import ResultFiles, chart_attachment
from bot.results.merge import merge
from bot.results.snapshot import RoundSnapshot
from bot.results.team_result import TeamResult
from conversations.core.i18n import Catalogue
from conversations.core.messages import AttachmentKind, Destination, Outbound
from conversations.instrument import (
    ClosingPage,
    Cluster,
    Factor,
    OpenQuestion,
    Question,
    Quickscan,
    Scale,
    ScaleOption,
    load_instruments,
)
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.results.store import ResultStore

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXTS = Catalogue("nl")
# The ends of the palette and the "?" grey, as drawn.
STRONG_NEGATIVE = "#b2182b"
STRONG_POSITIVE = "#2166ac"
NEUTRAL = "#d9d9d9"
UNKNOWN = "#7f7f7f"

Pixels = npt.NDArray[np.int16]


def _quickscan_po() -> Quickscan:
    instrument = load_instruments()["quickscan-po"]
    assert isinstance(instrument, Quickscan)
    return instrument


PO = _quickscan_po()


def _responses(instrument: Quickscan, *, count: int) -> list[dict[str, str]]:
    """Respondents who between them use every code on every factor."""
    codes = instrument.scale.codes()
    return [
        {
            question.id: codes[(person + index) % len(codes)]
            for index, question in enumerate(instrument.questions)
        }
        for person in range(count)
    ]


def _merge(
    instrument: Quickscan, responses: Sequence[Mapping[str, str]], *, minimum: int = 5
) -> TeamResult:
    return merge(
        instrument=instrument,
        responses=responses,
        invited=len(responses) + 2,
        min_respondents=minimum,
        min_text_respondents=minimum,
    )


def _pixels(path: Path) -> Pixels:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _near(pixels: Pixels, colour: str, *, tolerance: int = 6) -> npt.NDArray[np.bool_]:
    """Mask of the pixels within ``tolerance`` per channel of a hex colour."""
    target = np.array([int(colour[index : index + 2], 16) for index in (1, 3, 5)])
    return np.all(np.abs(pixels - target) <= tolerance, axis=-1)


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The factor and item chart of eight respondents, drawn once for several tests."""
    folder = tmp_path_factory.mktemp("charts")
    result = _merge(PO, _responses(PO, count=8))
    factors = factor_chart(
        result=result, instrument=PO, path=folder / "nested" / "factors.png", texts=TEXTS
    )
    items = item_chart(result=result, instrument=PO, path=folder / "items.png", texts=TEXTS)
    return factors, items


def test_charts_are_pngs_at_the_requested_paths(charts: tuple[Path, Path]) -> None:
    factors, items = charts
    assert factors.name == "factors.png"
    assert factors.parent.name == "nested"  # missing parents are created
    for path in charts:
        assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_chart_sizes_are_readable(charts: tuple[Path, Path]) -> None:
    factors, items = (_pixels(path) for path in charts)
    factor_height, factor_width, _ = factors.shape
    item_height, item_width, _ = items.shape
    assert factor_width >= 800
    assert factor_height >= 400
    assert item_width >= 800
    assert item_height > factor_height * 2  # 48 questions need far more room than 10 factors


@pytest.mark.parametrize("index", [0, 1], ids=["factors", "items"])
def test_charts_show_the_scale_colours(charts: tuple[Path, Path], index: int) -> None:
    pixels = _pixels(charts[index])
    wide = pixels.astype(np.int32)
    packed = (wide[..., 0] << 16) | (wide[..., 1] << 8) | wide[..., 2]
    assert packed.std() > 0
    assert np.unique(packed).size > 50  # not one flat colour: bars, text, antialiasing
    for colour in (STRONG_NEGATIVE, STRONG_POSITIVE, NEUTRAL, UNKNOWN):
        assert _near(pixels, colour).sum() > 200, colour


def test_negative_answers_are_drawn_left_of_positive_ones(tmp_path: Path) -> None:
    # Everyone answers "--" to odd and "++" to even questions: every bar has both.
    responses = [
        {question.id: "--" if index % 2 else "++" for index, question in enumerate(PO.questions)}
        for _person in range(6)
    ]
    path = factor_chart(
        result=_merge(PO, responses), instrument=PO, path=tmp_path / "f.png", texts=TEXTS
    )
    pixels = _pixels(path)
    negative = np.nonzero(_near(pixels, STRONG_NEGATIVE))[1]
    positive = np.nonzero(_near(pixels, STRONG_POSITIVE))[1]
    assert negative.size > 1000
    assert positive.size > 1000
    assert np.median(negative) < pixels.shape[1] / 2 < np.median(positive)


def test_same_result_gives_the_same_bytes(tmp_path: Path) -> None:
    result = _merge(PO, _responses(PO, count=6))
    first = factor_chart(result=result, instrument=PO, path=tmp_path / "a.png", texts=TEXTS)
    second = factor_chart(result=result, instrument=PO, path=tmp_path / "b.png", texts=TEXTS)
    assert first.read_bytes() == second.read_bytes()
    assert b"Matplotlib" not in first.read_bytes()


def test_charts_render_in_parallel_threads(tmp_path: Path) -> None:
    result = _merge(PO, _responses(PO, count=6))
    paths = [tmp_path / f"chart{index}.png" for index in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        drawn = list(
            pool.map(
                lambda path: factor_chart(result=result, instrument=PO, path=path, texts=TEXTS),
                paths,
            )
        )
    assert drawn == paths
    assert len({path.read_bytes() for path in paths}) == 1


@pytest.mark.parametrize("minimum", [5, 3])
@pytest.mark.parametrize("chart", [factor_chart, item_chart])
def test_without_exact_figures_nothing_is_drawn(
    chart: Callable[..., Path], minimum: int, tmp_path: Path
) -> None:
    # Below the minimum, and in the coarse tier (3-4 respondents): no chart.
    result = _merge(PO, _responses(PO, count=4), minimum=minimum)
    assert not result.itemised
    path = tmp_path / "chart.png"
    with pytest.raises(ValueError, match="no exact figures"):
        chart(result=result, instrument=PO, path=path, texts=TEXTS)
    assert not path.exists()


def test_result_of_another_instrument_is_refused(tmp_path: Path) -> None:
    other = _custom_quickscan(_FOUR_POINT)
    result = _merge(other, _responses(other, count=6))
    with pytest.raises(ValueError, match="quickscan-po"):
        factor_chart(result=result, instrument=PO, path=tmp_path / "chart.png", texts=TEXTS)


_FOUR_POINT = (("ja", 4), ("eerder ja", 3), ("eerder nee", 2), ("nee", 1), ("n.v.t.", None))
_SEVEN_POINT = tuple((str(score), score) for score in range(7, 0, -1))
_THREE_POINT_TWO_UNSCORED = (("goed", 3), ("matig", 2), ("slecht", 1), ("?", None), ("nvt", None))


def _custom_quickscan(options: Sequence[tuple[str, int | None]]) -> Quickscan:
    """A small quickscan on another scale, as a school could add in a YAML file."""
    return Quickscan(
        kind="quickscan",
        id="eigen",
        title="Eigen quickscan",
        school_type="vo",
        source="Test",
        scale=Scale(
            options=tuple(
                ScaleOption(code=code, label=f"label {code}", score=score)
                for code, score in options
            )
        ),
        clusters=(Cluster(id="a", name="A", title="Cluster A", grade_label="A"),),
        aspects=(),
        factors=(
            Factor(number=1, id="f1", short_name="eerste", sentence="Eerste.", cluster="a"),
            Factor(number=2, id="f2", short_name="tweede", sentence="Tweede.", cluster="a"),
        ),
        questions=(
            Question(id="v1", factor=1, text="Een korte vraag?"),
            Question(
                id="v2",
                factor=1,
                text="Een heel lange vraag die niet op één regel past en dus wordt ingekort?",
            ),
            Question(id="v3", factor=2, text="Nog een vraag?"),
        ),
        closing=ClosingPage(
            grade_question="Welk cijfer?", open_questions=(OpenQuestion(id="o", text="Wat?"),)
        ),
    )


@pytest.mark.parametrize(
    "options",
    [_FOUR_POINT, _SEVEN_POINT, _THREE_POINT_TWO_UNSCORED],
    ids=["four-points-no-middle", "seven-points-no-unknown", "two-unscored"],
)
def test_other_scales_render(options: Sequence[tuple[str, int | None]], tmp_path: Path) -> None:
    instrument = _custom_quickscan(options)
    result = _merge(instrument, _responses(instrument, count=7))
    factors = factor_chart(
        result=result, instrument=instrument, path=tmp_path / "f.png", texts=TEXTS
    )
    items = item_chart(result=result, instrument=instrument, path=tmp_path / "i.png", texts=TEXTS)
    for path in (factors, items):
        pixels = _pixels(path)
        assert pixels.shape[1] >= 800
        # Whatever the number of options, the strongest answers get the strongest colours.
        assert _near(pixels, STRONG_NEGATIVE).sum() > 200
        assert _near(pixels, STRONG_POSITIVE).sum() > 200
    assert _pixels(items).shape[0] > _pixels(factors).shape[0]


def test_long_questions_are_shortened_at_a_word() -> None:
    text = PO.questions[6].text
    short = _shorten(text)
    assert short.endswith("…")
    assert len(short) <= 46
    assert text.startswith(short[:-1])
    assert text[len(short) - 1] == " "  # cut between words
    assert _shorten("Kort?") == "Kort?"


# ------------------------------------------------- rendered at delivery, from the snapshot

KEY = TeamKey(platform="console", workspace="w", team="t/1")


def _closed_round(store: Store, result: TeamResult, *, now: datetime) -> int:
    """A closed round of the team whose snapshot holds ``result``."""
    store.ensure_team(key=KEY, founder="anna", now=now)
    round_ = store.open_round(
        key=KEY, instrument_id=PO.id, opened_by="anna", deadline=None, now=now
    )
    store.close_round(key=KEY, round_id=round_.id, now=now)
    snapshot = RoundSnapshot.of(
        result=result, min_text_respondents=5, trend=(), fingerprints=None, legacy=False
    )
    ResultStore(engine=store.engine).save_if_absent(
        round_id=round_.id, snapshot=snapshot.to_json(), now=now
    )
    return round_.id


def test_a_chart_attachment_is_drawn_from_the_snapshot_the_same_every_time(
    store: Store, tmp_path: Path
) -> None:
    now = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    result = _merge(PO, _responses(PO, count=6))
    round_id = _closed_round(store, result, now=now)
    files = ResultFiles(
        results=ResultStore(engine=store.engine), instruments={PO.id: PO}, output_dir=tmp_path
    )
    registry = AttachmentRenderers()
    registry.register(kind=AttachmentKind.QUICKSCAN_CHART, render=files.chart)

    def draw(*, per_item: bool) -> Path:
        attachment = chart_attachment(
            key=KEY, round_id=round_id, instrument_id=PO.id, locale="nl", per_item=per_item
        )
        message = Outbound(
            destination=Destination.team_channel(team=KEY.team), text="", attachment=attachment
        )
        image = registry.render(message).image
        assert image is not None
        return image

    first = draw(per_item=False)
    drawn = first.read_bytes()
    first.unlink()  # sent and removed: a second attempt draws it again
    again = draw(per_item=False)
    assert again == first
    assert again.read_bytes() == drawn
    assert first.parent.name == "console-w-t_1"  # one folder per team, its name made safe
    direct = factor_chart(result=result, instrument=PO, path=tmp_path / "direct.png", texts=TEXTS)
    assert direct.read_bytes() == drawn  # exactly what the result itself gives
    items = draw(per_item=True)
    assert items != first
    assert items.read_bytes() != drawn


def test_a_chart_of_a_round_without_snapshot_is_unavailable(store: Store, tmp_path: Path) -> None:
    now = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    round_id = _closed_round(store, _merge(PO, _responses(PO, count=6)), now=now)
    files = ResultFiles(
        results=ResultStore(engine=store.engine), instruments={PO.id: PO}, output_dir=tmp_path
    )
    attachment = chart_attachment(
        key=KEY, round_id=round_id + 1, instrument_id=PO.id, locale="nl", per_item=False
    )
    with pytest.raises(AttachmentUnavailableError):
        files.chart(**dict(attachment.args))
    other_team = TeamKey(platform="console", workspace="w", team="someone-else")
    foreign = chart_attachment(
        key=other_team, round_id=round_id, instrument_id=PO.id, locale="nl", per_item=False
    )
    with pytest.raises(AttachmentUnavailableError):  # a round id of another team shows nothing
        files.chart(**dict(foreign.args))
    assert not any(tmp_path.rglob("*.png"))
