"""What a checklist round shows, loaded from the store and turned into messages.

Two audiences, two rules: the team channel gets the aggregate
(``bot.checklist.aggregate``), never a label or one teacher's figure; each
teacher's own DM gets their class, by pupil label (``bot.checklist.comparison``)
and, on request, the .xlsx list (``bot.checklist.export``, made at delivery).
Log lines carry row ids and counts only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from bot.checklist.aggregate import TeamAggregate, render_team, team_aggregate
from bot.checklist.comparison import compare_class, render_comparison
from bot.checklist.export import export_attachment, export_path
from bot.results.anonymity import EXACT_MINIMUM
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from conversations.instrument import Checklist
from storage.checklist.records import ChecklistRound, Teacher
from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.quickscan.records import Team

_LOG = logging.getLogger(__name__)


def minimum_of(round_: ChecklistRound, *, team: Team) -> int:
    """The minimum a round's team figures are shown under.

    A closed round keeps the minimum of the moment it closed, so lowering the
    minimum later (for round 2, say) never reveals round 1's figures that were
    hidden then. A round closed before that was recorded gets the stricter of the
    current minimum and ``EXACT_MINIMUM``; an open round follows the team.
    """
    if round_.is_open:
        return team.min_respondents
    if round_.min_respondents is not None:
        return round_.min_respondents
    return max(team.min_respondents, EXACT_MINIMUM)


class ChecklistResults:
    """Loads what a round shows from the store and turns it into messages."""

    def __init__(
        self, *, checklists: ChecklistStore, checklist: Checklist, output_dir: Path
    ) -> None:
        self._checklists = checklists
        self._checklist = checklist
        self._output_dir = output_dir

    def aggregate(self, *, team: Team, round_: ChecklistRound) -> TeamAggregate:
        """The team aggregate of a round, with the change since round 1 after round 2."""
        first = self.first_round_of(team=team.key, round_=round_)
        previous = self._aggregate(team, first, None) if first is not None else None
        return self._aggregate(team, round_, previous if previous and previous.shown else None)

    def _aggregate(
        self, team: Team, round_: ChecklistRound, previous: TeamAggregate | None
    ) -> TeamAggregate:
        return team_aggregate(
            checklist=self._checklist,
            per_teacher=self._checklists.team_scores(key=team.key, round_id=round_.id),
            teachers=len(self._checklists.teachers(key=team.key)),
            min_respondents=minimum_of(round_, team=team),
            previous=previous,
        )

    def first_round_of(self, *, team: TeamKey, round_: ChecklistRound) -> ChecklistRound | None:
        """Round 1 of the same school year, for a round 2."""
        if round_.number != 2:
            return None
        return next(
            (
                other
                for other in self._checklists.rounds(key=team)
                if other.school_year == round_.school_year and other.number == 1
            ),
            None,
        )

    def team_message(self, *, team: Team, round_: ChecklistRound) -> Outbound:
        """The aggregate post for the team channel: never a label, never one teacher."""
        texts = Catalogue(team.locale)
        aggregate = self.aggregate(team=team, round_=round_)
        first = self.first_round_of(team=team.key, round_=round_)
        _LOG.info(
            "checklist: team %d round %d aggregate (%d of %d teachers, shown=%s)",
            team.id,
            round_.id,
            aggregate.took_part,
            aggregate.teachers,
            aggregate.shown,
        )
        return Outbound(
            destination=Destination.team_channel(team=team.key.team),
            text=render_team(
                aggregate=aggregate,
                checklist=self._checklist,
                round_=round_,
                texts=texts,
                first=first,
            ),
        )

    def comparison_messages(self, *, team: Team, round_: ChecklistRound) -> list[Outbound]:
        """After round 2: each teacher with a class privately gets their own comparison."""
        texts = Catalogue(team.locale)
        first = self.first_round_of(team=team.key, round_=round_)
        messages = []
        for teacher in self._checklists.teachers(key=team.key):
            pupils = self._checklists.pupils(teacher_id=teacher.id)
            if not pupils:
                continue
            second = self._checklists.class_round(teacher_id=teacher.id, round_=round_)
            earlier = (
                self._checklists.class_round(teacher_id=teacher.id, round_=first)
                if first is not None
                else None
            )
            if not second.scores and (earlier is None or not earlier.scores):
                continue  # took part in neither round: nothing to compare
            comparison = compare_class(
                checklist=self._checklist, pupils=pupils, first=earlier, second=second
            )
            text, details = render_comparison(
                comparison=comparison, checklist=self._checklist, round_=round_, texts=texts
            )
            if first is None:
                text += "\n" + texts.t("checklist.compare_no_first")
            messages.append(
                Outbound(
                    destination=Destination.dm(team=team.key.team, user=teacher.key.user),
                    text=text,
                    details=details,
                )
            )
        _LOG.info("checklist: round %d comparison sent to %d teachers", round_.id, len(messages))
        return messages

    def export_message(self, *, teacher: Teacher, texts: Catalogue, now: datetime) -> Outbound:
        """The teacher's class list as .xlsx, to their own DM; the file is made at delivery."""
        pupils = len(self._checklists.pupils(teacher_id=teacher.id))
        rounds = len(self._checklists.rounds_of_team(team_id=teacher.team_id))
        _LOG.info("checklist: teacher %d asked for an export of %d pupils", teacher.id, pupils)
        return Outbound(
            destination=Destination.dm(team=teacher.key.team, user=teacher.key.user),
            text=texts.t(
                "checklist.export_sent",
                pupils=texts.t("checklist.export_pupils", count=pupils),
                rounds=texts.t("checklist.export_rounds", count=rounds),
            ),
            attachment=export_attachment(teacher=teacher, locale=texts.locale, generated_at=now),
        )

    def discard_export(self, *, teacher: Teacher) -> None:
        """Remove the teacher's exported file, if any (their data is being erased)."""
        export_path(output_dir=self._output_dir, teacher=teacher).unlink(missing_ok=True)
