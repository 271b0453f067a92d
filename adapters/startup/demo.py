"""A scripted round with simulated colleagues, so a newcomer sees the result at once.

The script is plain console input, the same lines a person would type, so the
demo exercises the real engine, storage and console adapter.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from conversations.instrument import Quickscan

_OPEN_ANSWERS = (
    "Meer contact met ouders die we weinig zien.",
    "Kennismakingsgesprekken aan het begin van het schooljaar.",
    "Eerst in het team bespreken wat we onder samenwerken verstaan.",
    "Leerlingen vaker bij de gesprekken betrekken.",
    "Een studiemiddag over ouderbetrokkenheid.",
)


def demo_script(*, instrument: Quickscan, names: Sequence[str], seed: int) -> Iterator[str]:
    """Console lines for a whole round: start, every colleague answers, status, close.

    Each success factor gets a hidden team tendency, and colleagues answer around
    it with some disagreement and some "weet ik niet", so the merged result shows
    the contrasts a real team would see.
    """
    rng = random.Random(seed)  # noqa: S311 - simulated answers, not a secret
    codes = [option.code for option in instrument.scale.options if option.score is not None]
    tendency = {factor.number: rng.uniform(0.5, 4.5) for factor in instrument.factors}
    yield "# De coördinator start de quickscan in het teamkanaal."
    yield "coordinator@team: /quickscan start"
    for name in names:
        yield from _answers(instrument, name, codes, tendency, rng)
    yield "# De coördinator vraagt de stand op en sluit de ronde."
    yield "coordinator@team: /quickscan status"
    yield "coordinator@team: /quickscan sluit"


def _answers(
    instrument: Quickscan,
    name: str,
    codes: Sequence[str],
    tendency: dict[int, float],
    rng: random.Random,
) -> Iterator[str]:
    yield f"{name}@dm: start"
    for question in instrument.questions:
        if rng.random() < 0.08:
            yield f"{name}@dm: ?"
            continue
        position = round(tendency[question.factor] + rng.gauss(0, 0.9))
        yield f"{name}@dm: {codes[min(max(position, 0), len(codes) - 1)]}"
    for _cluster in instrument.clusters:
        yield f"{name}@dm: {rng.randint(5, 8)}"
    for _question in instrument.closing.open_questions:
        yield f"{name}@dm: {rng.choice(_OPEN_ANSWERS)}"
    yield f"{name}@dm: versturen"
