"""How the answers to one item (or a pool of items) spread over the instrument's scale.

The smallest unit every report reads: counts per scale code with their shares,
mean and spread, computed once as a frozen value so renderers only format and
never count.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.results.labels import DEFAULT_RULES, Label, LabelRules, classify

if TYPE_CHECKING:
    from conversations.instrument import ScaleOption


@dataclass(frozen=True, slots=True, kw_only=True)
class Distribution:
    """How the answers to one item (or a pool of items) spread over the scale.

    Attributes:
        counts: Number of answers per scale code; every code of the scale is present,
            in scale order, with 0 when nobody chose it, so renderers never special-case
            a missing bar.
        respondents: Number of answers counted, "?" included: the denominator of shares.
            For a pool of items this is the number of answers, not of people.
        scored: Number of answers with a score (everything but "?").
        mean: Mean score of the scored answers, unrounded (rounding is for renderers);
            None when nothing was scored.
        unknown_share: Share of answers without a score ("weet ik niet / geen zicht");
            0.0 when there are no answers.
        positive: Scored answers above the midpoint of the scale (``++`` and ``+``).
        negative: Scored answers below the midpoint (``-`` and ``--``).
        stdev: Population standard deviation of the scores: a positive mean with a
            large spread means "positive on average, but no agreement".
    """

    counts: Mapping[str, int]
    respondents: int
    scored: int
    mean: float | None
    unknown_share: float
    positive: int = 0
    negative: int = 0
    stdev: float | None = None

    @property
    def positive_share(self) -> float:
        """Share of the scored answers above the scale's midpoint (``++``/``+``)."""
        return self.positive / self.scored if self.scored else 0.0

    @property
    def negative_share(self) -> float:
        """Share of the scored answers below the scale's midpoint (``-``/``--``)."""
        return self.negative / self.scored if self.scored else 0.0

    @property
    def middle(self) -> int:
        """Scored answers at the scale's midpoint (``+/-``): "redelijk"."""
        return self.scored - self.positive - self.negative

    @property
    def middle_share(self) -> float:
        """Share of the scored answers at the scale's midpoint (``+/-``)."""
        return self.middle / self.scored if self.scored else 0.0

    def label(self, *, rules: LabelRules = DEFAULT_RULES) -> Label:
        """The reading of this distribution under ``rules`` (see bot/labels.py)."""
        return classify(
            respondents=self.respondents,
            unknown_share=self.unknown_share,
            positive_share=self.positive_share,
            negative_share=self.negative_share,
            mean=self.mean,
            middle_share=self.middle_share,
            rules=rules,
        )

    def share(self, code: str) -> float:
        """Share of the answers with ``code``; 0.0 when there are no answers.

        Raises:
            KeyError: ``code`` is not a code of the scale, which is a programming error.
        """
        count = self.counts[code]
        return count / self.respondents if self.respondents else 0.0


def distribution(*, counts: Mapping[str, int], options: Sequence[ScaleOption]) -> Distribution:
    """Build a distribution from counts per code; codes not in the scale are ignored.

    Args:
        counts: Number of answers per code; missing codes count as 0.
        options: The scale, in display order; an option without a score is "unknown".
    """
    ordered = {option.code: counts.get(option.code, 0) for option in options}
    respondents = sum(ordered.values())
    scores = [option.score for option in options if option.score is not None]
    midpoint = (min(scores) + max(scores)) / 2 if scores else 0.0
    scored = total = squares = positive = negative = 0
    for option in options:
        count = ordered[option.code]
        if option.score is None or not count:
            continue
        scored += count
        total += option.score * count
        squares += option.score * option.score * count
        if option.score > midpoint:
            positive += count
        elif option.score < midpoint:
            negative += count
    mean = total / scored if scored else None
    stdev = math.sqrt(max(squares / scored - mean * mean, 0.0)) if mean is not None else None
    return Distribution(
        counts=MappingProxyType(ordered),
        respondents=respondents,
        scored=scored,
        mean=mean,
        unknown_share=(respondents - scored) / respondents if respondents else 0.0,
        positive=positive,
        negative=negative,
        stdev=stdev,
    )


def pool(*, distributions: Iterable[Distribution], options: Sequence[ScaleOption]) -> Distribution:
    """Pool distributions (e.g. a factor's items) as if all their answers were one item.

    The pooled mean weighs every answer equally, so an item that fewer people could
    judge weighs less than one everybody answered.
    """
    counts: Counter[str] = Counter()
    for part in distributions:
        counts.update(part.counts)
    return distribution(counts=counts, options=options)
