"""Reading a checklist's scale: which scores count as known well, which ask for attention.

The conversation (progress, "all scored"), the team aggregate and the private
comparison all read the scale the same way; they take it from here, the lowest
layer that needs it, so a pupil counts as complete in the DM exactly when the
team figures count them.
"""

from __future__ import annotations

from collections.abc import Mapping

from conversations.instrument import Checklist, ScaleOption


def high_options(checklist: Checklist) -> tuple[ScaleOption, ...]:
    """The upper half of the scale ("3 redelijk", "4 goed"): what counts as known well."""
    scored = sorted(checklist.scale.scored(), key=lambda option: option.score or 0)
    return tuple(scored[len(scored) - len(scored) // 2 :])


def low_options(checklist: Checklist) -> tuple[ScaleOption, ...]:
    """The lower half of the scale ("1 niet", "2 nauwelijks"): a reason for attention."""
    scored = sorted(checklist.scale.scored(), key=lambda option: option.score or 0)
    return tuple(scored[: len(scored) // 2])


def score_of(checklist: Checklist, code: str | None) -> int | None:
    """The numeric score of a stored code, None for missing or unknown codes."""
    if code is None:
        return None
    try:
        return checklist.scale.by_code(code).score
    except KeyError:
        return None


def is_complete(checklist: Checklist, scores: Mapping[str, str] | None) -> bool:
    """Whether every statement of the checklist has a score."""
    return scores is not None and all(s.id in scores for s in checklist.statements)
