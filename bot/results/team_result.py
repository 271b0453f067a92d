"""The shape of a team's merged quickscan: frozen results per item, factor and cluster.

What is not in a :class:`TeamResult` cannot leak through any adapter: the merge
(``bot.results.merge``) applies the anonymity tiers by leaving data out of these
values rather than by asking renderers to hide it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.results.anonymity import Tier
from bot.results.distribution import Distribution
from bot.results.labels import DEFAULT_RULES, Label, LabelRules

EMPTY_OPEN_ANSWERS: Mapping[str, tuple[str, ...]] = MappingProxyType({})
EMPTY_MENTIONS: Mapping[int, int] = MappingProxyType({})
EMPTY_LABELS: Mapping[int, Label] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemResult:
    """The merged answers to one question.

    Attributes:
        question_id: The question's id ("q01").
        number: 1-based position of the question in the instrument, as shown to staff.
        text: The question text.
        factor: Number of the success factor the question belongs to.
        distribution: The answers.
    """

    question_id: str
    number: int
    text: str
    factor: int
    distribution: Distribution
    label: Label


@dataclass(frozen=True, slots=True, kw_only=True)
class FactorResult:
    """The merged answers to one success factor: all answers to its items pooled."""

    number: int
    short_name: str
    cluster_id: str
    distribution: Distribution
    label: Label
    items: tuple[ItemResult, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GradeResult:
    """The grades (1-10) given to one cluster on the closing page.

    Attributes:
        cluster_id: The graded cluster.
        label: The cluster's grade label, as asked.
        mean: Unrounded mean grade; None when nobody gave a grade.
        count: Number of valid grades given.
    """

    cluster_id: str
    label: str
    mean: float | None
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterResult:
    """The merged answers to one cluster: its factors pooled, plus its grade."""

    cluster_id: str
    name: str
    grade_label: str
    distribution: Distribution
    grade: GradeResult
    factors: tuple[FactorResult, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamResult:
    """A team's merged quickscan, with the anonymity tiers already applied.

    Attributes:
        instrument_id: The instrument the answers belong to.
        respondents: Number of submitted quickscans merged.
        invited: Number of staff invited, for the response rate.
        min_respondents: The team's minimum for any answer-derived output.
        tier: What the channel may see (bot/anonymity.py). Below ``EXACT`` no
            cluster, grade, count or open answer is carried at all, so no renderer
            can show exact figures of too small a group by mistake.
        clusters: Per cluster results in instrument order; empty unless exact.
        open_answers: Per open question id the answers, stripped, empty ones dropped,
            in an order unrelated to who answered when. Only exact results carry them,
            and only for questions that at least ``min_text_respondents`` people
            answered in writing, since texts identify people sooner than numbers do.
        rules: The label thresholds the labels were computed with.
        priority_mentions: Per factor number, how many respondents named it in their
            own priority answer; empty unless exact and enough people wrote one.
        coarse_labels: Per factor number its coarse label (coarse tier only).
        compared: The tier was lowered because the respondents differ from an earlier
            exact round's by fewer than the minimum (round-to-round comparison).
        labels_withheld: Even the coarse labels are withheld, because someone of an
            earlier exact round may have left (see docs/team-result.md).
    """

    instrument_id: str
    respondents: int
    invited: int
    min_respondents: int
    tier: Tier
    clusters: tuple[ClusterResult, ...]
    open_answers: Mapping[str, tuple[str, ...]]
    rules: LabelRules = DEFAULT_RULES
    priority_mentions: Mapping[int, int] = field(default_factory=lambda: EMPTY_MENTIONS)
    coarse_labels: Mapping[int, Label] = field(default_factory=lambda: EMPTY_LABELS)
    compared: bool = False
    labels_withheld: bool = False

    @property
    def itemised(self) -> bool:
        """Whether exact figures (per item, factor, cluster, grades) may be shown."""
        return self.tier is Tier.EXACT

    def factors(self) -> tuple[FactorResult, ...]:
        """All factor results in instrument order, across clusters."""
        return tuple(factor for cluster in self.clusters for factor in cluster.factors)

    def items(self) -> tuple[ItemResult, ...]:
        """All item results in instrument order, across factors."""
        return tuple(item for factor in self.factors() for item in factor.items)


@dataclass(frozen=True, slots=True, kw_only=True)
class Downgrade:
    """The round-to-round comparison's verdict for a round about to be merged.

    Attributes:
        withhold_labels: Show participation only, not even coarse labels.
    """

    withhold_labels: bool = False
