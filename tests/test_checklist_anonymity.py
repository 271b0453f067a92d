"""The checklist's team figures at 3 teachers: two colleagues cannot work out the third's class.

The threat (docs/privacy.md): two teachers pool their own classes (every score of
every pupil, in both rounds) and everything the team channel showed of round 1 and
round 2, and try to find the third teacher's class: per statement how many pupils
are at 3 or 4, and the change since round 1. They even know the third's class size.

The test plays that attacker by brute force. For every candidate class of the third
(per statement: pupils at 3/4 in round 1 and in round 2) it renders the posts that
candidate would have produced, with the real code, and keeps the candidates whose
posts equal what the channel showed. The attack succeeds on a statement when one
count (or one change) is left. It does succeed against exact figures at 3
teachers, which proves the attacker works; it fails against what the bot shows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import pytest

from bot.checklist.aggregate import render_team, team_aggregate
from bot.results.anonymity import Tier
from conversations.core.i18n import Catalogue
from conversations.instrument import Checklist, load_instruments
from tests.test_checklist_results import a_round

IDS = ("s1", "s2", "s3", "s4", "s5", "s6")
Pupils = list[dict[str, str]]


@pytest.fixture(scope="module")
def checklist() -> Checklist:
    found = load_instruments()["checklist-oudercontact"]
    assert isinstance(found, Checklist)
    return found


def a_class(size: int, high: Sequence[int]) -> Pupils:
    """``size`` complete pupils, of whom ``high[s]`` score 3 on statement s (the rest 2)."""
    return [
        {
            statement: "3" if index < count else "2"
            for statement, count in zip(IDS, high, strict=True)
        }
        for index in range(size)
    ]


# Anna and Bram collude; Chris is the third. Complete pupils per round and, per
# statement, how many are at 3 or 4.
ANNA = ((6, (3, 1, 5, 2, 4, 6)), (6, (4, 3, 5, 3, 5, 6)))
BRAM = ((8, (4, 2, 6, 5, 1, 7)), (8, (6, 4, 6, 5, 3, 8)))
CHRIS = ((7, (3, 2, 5, 4, 1, 6)), (7, (5, 4, 6, 5, 3, 6)))


def posts(
    checklist: Checklist, chris: tuple[Pupils, Pupils], *, exact: bool = False
) -> tuple[str, str]:
    """The two team posts of the year (round 1, round 2 with its change)."""
    texts = Catalogue("nl")
    rounds = []
    previous = None
    for number in (1, 2):
        per_teacher = [
            a_class(*ANNA[number - 1]),
            a_class(*BRAM[number - 1]),
            chris[number - 1],
        ]
        aggregate = team_aggregate(
            checklist=checklist,
            per_teacher=per_teacher,
            teachers=3,
            min_respondents=3,
            previous=previous,
        )
        if exact:  # what the bot used to show at 3 teachers: the attacker's control case
            aggregate = replace(
                aggregate,
                tier=Tier.EXACT,
                change_tier=Tier.EXACT if previous is not None else Tier.NONE,
                pupils=sum(len(pupils) for pupils in per_teacher),
            )
        previous = aggregate
        rounds.append(
            render_team(
                aggregate=aggregate,
                checklist=checklist,
                round_=a_round(number),
                texts=texts,
                first=a_round(1) if number == 2 else None,
            )
        )
    return rounds[0], rounds[1]


def statement_lines(post: str) -> list[str]:
    """The six statement lines of a post ("1. ...: ...")."""
    lines = [line for line in post.splitlines() if re.match(r"^[1-6]\. ", line)]
    assert len(lines) == len(IDS)
    return lines


def candidates(checklist: Checklist, *, exact: bool) -> list[set[tuple[int, int]]]:
    """Per statement, the (round 1, round 2) counts of Chris's class consistent with the posts.

    Chris's class size is given to the attacker. Each candidate sets the same count on
    all six statements; a statement's line depends only on its own counts, so one
    rendering checks a candidate for all six statements at once.
    """
    (size1, real1), (size2, real2) = CHRIS
    shown = [
        statement_lines(post)
        for post in posts(checklist, (a_class(size1, real1), a_class(size2, real2)), exact=exact)
    ]
    consistent: list[set[tuple[int, int]]] = [set() for _ in IDS]
    for high1 in range(size1 + 1):
        for high2 in range(size2 + 1):
            guess = (a_class(size1, (high1,) * 6), a_class(size2, (high2,) * 6))
            rendered = [statement_lines(post) for post in posts(checklist, guess, exact=exact)]
            for index in range(len(IDS)):
                if all(rendered[r][index] == shown[r][index] for r in (0, 1)):
                    consistent[index].add((high1, high2))
    return consistent


def test_the_attack_recovers_the_third_class_from_exact_figures(checklist: Checklist) -> None:
    """The control: against exact shares and a pupil count, the attacker wins."""
    found = candidates(checklist, exact=True)
    (_, real1), (_, real2) = CHRIS
    assert found == [{(a, b)} for a, b in zip(real1, real2, strict=True)]


def test_two_colleagues_cannot_recover_the_third_class(checklist: Checklist) -> None:
    found = candidates(checklist, exact=False)
    (size1, real1), (size2, real2) = CHRIS
    for index, options in enumerate(found):
        # The truth is among the candidates, and never alone: neither count is pinned,
        # in round 1 or in round 2, nor the change between them.
        assert (real1[index], real2[index]) in options
        assert len({first for first, _ in options}) >= 2, index
        assert len({second for _, second in options}) >= 2, index
        assert len({second / size2 - first / size1 for first, second in options}) >= 2, index


def test_the_coarse_post_shows_no_count(checklist: Checklist) -> None:
    (size1, real1), (size2, real2) = CHRIS
    first, second = posts(checklist, (a_class(size1, real1), a_class(size2, real2)))
    for post in (first, second):
        assert "%" not in post
        assert "leerlingen, over alle klassen" not in post  # no pupil total
        assert "Deelname: 3 van 3 leraren." in post
        assert "alleen een globale uitkomst" in post
    assert "driekwart of meer" in second
    assert "(hoger dan in ronde 1)" in second
    assert "procentpunt" not in second
