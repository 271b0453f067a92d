"""Labels per item and success factor: where the team agrees, is divided or lacks insight.

The seed's instruction for the merged quickscan is to see "waar overeenstemming
over is, waar de meningen verdeeld zijn en op welke zaken u nog onvoldoende zicht
hebt". These rules make that reading deterministic. They are checked in order and
the first that matches wins, so an item nobody can judge is never called a
"werkpunt" on the strength of two answers. Every threshold can be adjusted per
team (``/quickscan drempel``); docs/team-result.md explains them.

Agreement has two readings. Nearly everyone positive is "gaat goed"; nearly
everyone in the middle of the scale (``+/-``) is "eens: redelijk": the team agrees
that it is fair, which is a different message from "gemengd" (no clear picture),
so it gets a label of its own. Both use the same agreement threshold
(``gaat_goed``), so a team that asks more agreement for one asks it for both.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace


class Label(enum.StrEnum):
    """The reading of one item or factor, in rule order."""

    WEINIG_ZICHT = "weinig_zicht"
    VERDEELD = "verdeeld"
    GAAT_GOED = "gaat_goed"
    WERKPUNT = "werkpunt"
    EENS_REDELIJK = "eens_redelijk"
    GEMENGD = "gemengd"


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelRules:
    """The thresholds, as shares (0-1) except ``werkpunt_gemiddelde`` (on the score scale).

    Attributes:
        weinig_zicht: "weinig zicht" from this share of "?" among all answers.
        verdeeld: "verdeeld" when both the positive and the negative share of the
            scored answers reach this.
        gaat_goed: "gaat goed" from this positive share of the scored answers ...
            and "eens: redelijk" from this share of middle answers (the agreement
            threshold of both).
        gaat_goed_max_negatief: ... with at most this negative share.
        werkpunt: "werkpunt" from this negative share of the scored answers ...
        werkpunt_gemiddelde: ... or with a mean at or below this.
    """

    weinig_zicht: float = 0.30
    verdeeld: float = 0.25
    gaat_goed: float = 0.70
    gaat_goed_max_negatief: float = 0.10
    werkpunt: float = 0.50
    werkpunt_gemiddelde: float = 2.5

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The adjustable thresholds, as coordinators type them."""
        return tuple(field.name for field in fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> LabelRules:
        """Defaults overridden by a team's stored values (unknown names are ignored)."""
        known = {name: float(value) for name, value in values.items() if name in cls.names()}
        return replace(cls(), **known)

    def as_mapping(self) -> dict[str, float]:
        """The thresholds by name, for storage and display."""
        return asdict(self)


DEFAULT_RULES = LabelRules()


def classify(
    *,
    respondents: int,
    unknown_share: float,
    positive_share: float,
    negative_share: float,
    mean: float | None,
    middle_share: float = 0.0,
    rules: LabelRules = DEFAULT_RULES,
) -> Label:
    """The label of one distribution; positive/negative/middle shares are of the scored answers.

    With nobody answering, or only "?", the team has no insight by definition.
    "Werkpunt" is checked before "eens: redelijk": mostly ``+/-`` with enough ``--``
    to pull the mean to 2.5 is a point to work on first, whatever the agreement.
    """
    if respondents == 0 or mean is None or unknown_share >= rules.weinig_zicht:
        return Label.WEINIG_ZICHT
    if positive_share >= rules.verdeeld and negative_share >= rules.verdeeld:
        return Label.VERDEELD
    if positive_share >= rules.gaat_goed and negative_share <= rules.gaat_goed_max_negatief:
        return Label.GAAT_GOED
    if negative_share >= rules.werkpunt or mean <= rules.werkpunt_gemiddelde:
        return Label.WERKPUNT
    if middle_share > 0 and middle_share >= rules.gaat_goed:
        return Label.EENS_REDELIJK
    return Label.GEMENGD


def legacy_label(label: Label) -> Label:
    """The label as read before "eens: redelijk" existed (it was "gemengd" then).

    A round closed before that keeps the reading of its close in every later view
    (bot/results/snapshot.py), as it keeps its thresholds.
    """
    return Label.GEMENGD if label is Label.EENS_REDELIJK else label
