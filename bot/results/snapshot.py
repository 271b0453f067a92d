"""A closed round's team result, frozen at close as JSON (table ``round_results``).

Everything a closed round may ever show is decided once, when it closes: the
tier (bot/anonymity.py) under the minimum and thresholds of that moment, the
comparison with earlier rounds, the trend, and the figures themselves. Later
views (``grafiek``, ``export``, the next round's trend) render the snapshot, so a
lowered minimum or a changed threshold never opens or changes a closed round,
and the snapshot still renders after retention deleted the individual answers.

It holds aggregates only: counts per question, grade means, labels, which open
questions passed their gate (the texts themselves are not kept, they were shown
once in the close post), and keyed hashes of who responded (for comparisons).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.results.anonymity import Fingerprints, Tier
from bot.results.figures import figures
from bot.results.labels import Label, LabelRules
from bot.results.team_result import TeamResult
from bot.results.trend import FactorChange
from conversations.instrument import Quickscan
from storage.results.store import FINGERPRINTS

VERSION = 1
# The label set: 2 added "eens: redelijk". A snapshot without the key is of set 1,
# and its labels keep reading as they did at close (bot/results/labels.py).
LABEL_SET = 2


class SnapshotError(ValueError):
    """A stored snapshot is not one this version can read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendBefore:
    """One factor of the previous (exact) round, for the change shown next to it."""

    number: int
    mean: float | None
    label: Label


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundSnapshot:
    """What a closed round shows, as decided at close.

    Attributes:
        instrument_id: The instrument of the round.
        respondents: Submitted quickscans.
        invited: Members invited.
        min_respondents: The team's minimum at close.
        min_text_respondents: The team's minimum for open answers at close.
        rules: The label thresholds at close.
        tier: What may be shown.
        compared: Lowered to coarse by the round-to-round comparison.
        labels_withheld: Participation only, because of the comparison.
        legacy: Frozen after the fact (the round closed before snapshots existed),
            under the stricter of the team's minimum and the default of 5.
        item_counts: Per question id the counts per code (exact tier only).
        grades: Per cluster id (mean, count) (exact tier only).
        priority_mentions: Per factor how many named it (exact, gate passed).
        open_shown: Open questions whose texts passed the writers' gate.
        coarse_labels: Per factor its coarse label (coarse tier only).
        group_labels: A paired survey's coarse labels per "list:section" (coarse tier
            only; bot/results/paired_freeze.py).
        before_counts: A paired survey's previous exact round's counts per item, for
            its trend per statement (exact tier only, empty when no trend is allowed).
        trend: The previous exact round's factors (empty when no trend is allowed).
        fingerprints: Who responded, as keyed hashes (None below the minimum).
        label_set: The labels that existed at close (``LABEL_SET``; 1 before
            "eens: redelijk").
    """

    instrument_id: str
    respondents: int
    invited: int
    min_respondents: int
    min_text_respondents: int
    rules: LabelRules
    tier: Tier
    compared: bool = False
    labels_withheld: bool = False
    legacy: bool = False
    item_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    grades: Mapping[str, tuple[float | None, int]] = field(default_factory=dict)
    priority_mentions: Mapping[int, int] = field(default_factory=dict)
    open_shown: tuple[str, ...] = ()
    coarse_labels: Mapping[int, Label] = field(default_factory=dict)
    group_labels: Mapping[str, Label] = field(default_factory=dict)
    before_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    trend: tuple[TrendBefore, ...] = ()
    fingerprints: Fingerprints | None = None
    label_set: int = LABEL_SET

    @classmethod
    def of(
        cls,
        *,
        result: TeamResult,
        min_text_respondents: int,
        trend: tuple[FactorChange, ...],
        fingerprints: Fingerprints | None,
        legacy: bool,
    ) -> RoundSnapshot:
        """Freeze a freshly merged result (the tiers already applied by the merge)."""
        return cls(
            instrument_id=result.instrument_id,
            respondents=result.respondents,
            invited=result.invited,
            min_respondents=result.min_respondents,
            min_text_respondents=min_text_respondents,
            rules=result.rules,
            tier=result.tier,
            compared=result.compared,
            labels_withheld=result.labels_withheld,
            legacy=legacy,
            item_counts={
                item.question_id: dict(item.distribution.counts) for item in result.items()
            },
            grades={
                cluster.cluster_id: (cluster.grade.mean, cluster.grade.count)
                for cluster in result.clusters
            },
            priority_mentions=dict(result.priority_mentions),
            open_shown=tuple(sorted(q for q, texts in result.open_answers.items() if texts)),
            coarse_labels=dict(result.coarse_labels),
            trend=tuple(
                TrendBefore(number=c.number, mean=c.before_mean, label=c.before_label)
                for c in trend
            ),
            fingerprints=fingerprints,
        )

    def result(self, *, instrument: Quickscan) -> TeamResult:
        """The team result as it was at close (open answer texts are not part of it)."""
        exact = self.tier is Tier.EXACT
        return TeamResult(
            instrument_id=self.instrument_id,
            respondents=self.respondents,
            invited=self.invited,
            min_respondents=self.min_respondents,
            tier=self.tier,
            clusters=(
                figures(
                    instrument=instrument,
                    item_counts=self.item_counts,
                    grades=self.grades,
                    rules=self.rules,
                    agreed_fair=self.label_set >= LABEL_SET,
                )
                if exact
                else ()
            ),
            open_answers=MappingProxyType({}),
            rules=self.rules,
            priority_mentions=MappingProxyType(dict(self.priority_mentions)),
            coarse_labels=MappingProxyType(dict(self.coarse_labels)),
            compared=self.compared,
            labels_withheld=self.labels_withheld,
        )

    def changes(self, *, current: TeamResult) -> tuple[FactorChange, ...]:
        """The trend per factor: the frozen previous values against this round's."""
        now = {factor.number: factor for factor in current.factors()}
        return tuple(
            FactorChange(
                number=before.number,
                short_name=now[before.number].short_name,
                before_mean=before.mean,
                after_mean=now[before.number].distribution.mean,
                before_label=before.label,
                after_label=now[before.number].label,
            )
            for before in self.trend
            if before.number in now
        )

    def to_json(self) -> str:
        """The stored form: sorted keys, so equal snapshots are equal text."""
        prints = self.fingerprints
        data: dict[str, Any] = {
            "version": VERSION,
            "instrument_id": self.instrument_id,
            "respondents": self.respondents,
            "invited": self.invited,
            "min_respondents": self.min_respondents,
            "min_text_respondents": self.min_text_respondents,
            "rules": self.rules.as_mapping(),
            "tier": self.tier.value,
            "compared": self.compared,
            "labels_withheld": self.labels_withheld,
            "legacy": self.legacy,
            "label_set": self.label_set,
            "item_counts": {q: dict(counts) for q, counts in self.item_counts.items()},
            "grades": {c: [mean, count] for c, (mean, count) in self.grades.items()},
            "priority_mentions": {str(n): c for n, c in self.priority_mentions.items()},
            "open_shown": list(self.open_shown),
            "coarse_labels": {str(n): label.value for n, label in self.coarse_labels.items()},
            "group_labels": {key: label.value for key, label in self.group_labels.items()},
            "before_counts": {q: dict(counts) for q, counts in self.before_counts.items()},
            "trend": [
                {"factor": t.number, "before_mean": t.mean, "before_label": t.label.value}
                for t in self.trend
            ],
            FINGERPRINTS: (
                None
                if prints is None
                else {
                    "salt": prints.salt,
                    "hashes": sorted(prints.hashes),
                    "forgotten": prints.forgotten,
                }
            ),
        }
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, stored: str) -> RoundSnapshot:
        """Read a stored snapshot.

        Raises:
            SnapshotError: Not a snapshot of this version (a programming or data error).
        """
        try:
            data = json.loads(stored)
            if data["version"] != VERSION:
                raise SnapshotError(f"snapshot version {data['version']!r} is not {VERSION}")
            prints = data[FINGERPRINTS]
            return cls(
                instrument_id=str(data["instrument_id"]),
                respondents=int(data["respondents"]),
                invited=int(data["invited"]),
                min_respondents=int(data["min_respondents"]),
                min_text_respondents=int(data["min_text_respondents"]),
                rules=LabelRules.from_mapping(data["rules"]),
                tier=Tier(data["tier"]),
                compared=bool(data["compared"]),
                labels_withheld=bool(data["labels_withheld"]),
                legacy=bool(data["legacy"]),
                label_set=int(data.get("label_set", 1)),
                item_counts={
                    str(q): {str(code): int(n) for code, n in counts.items()}
                    for q, counts in data["item_counts"].items()
                },
                grades={
                    str(c): (None if mean is None else float(mean), int(count))
                    for c, (mean, count) in data["grades"].items()
                },
                priority_mentions={int(n): int(c) for n, c in data["priority_mentions"].items()},
                open_shown=tuple(str(q) for q in data["open_shown"]),
                coarse_labels={int(n): Label(v) for n, v in data["coarse_labels"].items()},
                # Absent from snapshots taken before paired surveys existed.
                group_labels={
                    str(key): Label(v) for key, v in data.get("group_labels", {}).items()
                },
                before_counts={
                    str(q): {str(code): int(n) for code, n in counts.items()}
                    for q, counts in data.get("before_counts", {}).items()
                },
                trend=tuple(
                    TrendBefore(
                        number=int(t["factor"]),
                        mean=None if t["before_mean"] is None else float(t["before_mean"]),
                        label=Label(t["before_label"]),
                    )
                    for t in data["trend"]
                ),
                fingerprints=(
                    None
                    if prints is None
                    else Fingerprints(
                        salt=str(prints["salt"]),
                        hashes=frozenset(str(h) for h in prints["hashes"]),
                        forgotten=int(prints["forgotten"]),
                    )
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, SnapshotError):
                raise
            raise SnapshotError("malformed result snapshot") from error
