"""The item ids answers are stored under, beyond the questions' own ids.

A quickscan's closing page stores a grade per cluster and a text per open
question. The walkthrough writes them and the merge reads them; both take the
ids from here, in the lowest layer that needs them, so the two can never drift
apart.
"""

from __future__ import annotations

GRADE_PREFIX = "grade:"
OPEN_PREFIX = "open:"


def grade_item_id(*, cluster_id: str) -> str:
    """The stored item id of a cluster's grade, so the conversation and merge agree on it."""
    return f"{GRADE_PREFIX}{cluster_id}"


def open_item_id(*, question_id: str) -> str:
    """The stored item id of an open answer, so the conversation and merge agree on it."""
    return f"{OPEN_PREFIX}{question_id}"
