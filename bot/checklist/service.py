"""The checklist rounds as a service: what the scheduler (and coordinators) call.

Every method is keyword-only, takes the moment from its caller (the scheduler's
planned time, or the engine's clock for a typed command) and returns the messages
to send, after every change is committed. The methods are idempotent where the
scheduler may repeat them (a restart, a second process): opening a round that was
opened before, reminding or closing when nothing is open, sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from bot.checklist.results import ChecklistResults
from conversations.checklist.flow import ChecklistFlow
from conversations.checklist.naming import deadline_text, round_name
from conversations.checklist.prompts import dm, go_buttons
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from conversations.instrument import Checklist, Quickscan, load_instrument, packaged_dir
from storage.checklist.records import (
    ROUND_NUMBERS,
    ChecklistRound,
    ChecklistRoundExistsError,
    ChecklistRoundNotOpenError,
    OtherChecklistRoundOpenError,
    TeacherProgress,
)
from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.quickscan.store import Store

_LOG = logging.getLogger(__name__)

DEFAULT_CHECKLIST = "checklist-oudercontact"
SCHEDULER = "scheduler"
"""``opened_by`` of a round the scheduler opened (no member did)."""


def default_checklist(instruments: Mapping[str, Quickscan | Checklist]) -> Checklist:
    """The checklist among the loaded instruments, else the packaged one.

    An engine built with quickscans only (a benchmark, a test) still has a working
    checklist, so nothing else has to treat it as optional.
    """
    found = instruments.get(DEFAULT_CHECKLIST)
    if isinstance(found, Checklist):
        return found
    loaded = load_instrument(packaged_dir() / f"{DEFAULT_CHECKLIST}.yaml")
    if not isinstance(loaded, Checklist):  # pragma: no cover - the packaged file is a checklist
        msg = f"{DEFAULT_CHECKLIST} is not a checklist"
        raise TypeError(msg)
    return loaded


class ChecklistService:
    """Opens, reminds, closes and announces checklist rounds of a team."""

    def __init__(
        self,
        *,
        store: Store,
        checklists: ChecklistStore,
        checklist: Checklist,
        flow: ChecklistFlow,
        results: ChecklistResults,
    ) -> None:
        self._store = store
        self._checklists = checklists
        self._checklist = checklist
        self._flow = flow
        self._results = results

    def open_round(
        self,
        *,
        team: TeamKey,
        number: int,
        school_year: int,
        deadline: datetime | None,
        now: datetime,
        opened_by: str = SCHEDULER,
    ) -> list[Outbound]:
        """Open round ``number`` (1 or 2) of ``school_year``: announce it, DM every teacher.

        Idempotent: a round that was opened before (open or already closed) sends
        nothing. If another round of the team is still open (round 1 never closed
        before round 2 is due), that one is closed first and its result posted,
        because the new round makes it over.

        Args:
            team: The team.
            number: 1 (before the herfstvakantie) or 2 (after the kerstvakantie).
            school_year: Starting year of the school year (2026 = 2026/27).
            deadline: End of the round, shown to everyone; None for none.
            now: The moment of opening (aware).
            opened_by: The member who typed the command, or ``SCHEDULER``.

        Returns:
            The channel announcement and one DM per bound teacher (nothing when the
            team is unknown, has the checklist switched off, or the round existed
            already).

        Raises:
            ValueError: ``number`` is not 1 or 2.
        """
        if number not in ROUND_NUMBERS:
            msg = f"a checklist round is 1 or 2, not {number}"
            raise ValueError(msg)
        settings = self._store.get_team(key=team)
        if settings is None:
            _LOG.warning("checklist: open_round for a team the bot does not know; skipped")
            return []
        if not settings.checklist_enabled:  # switched off: a ping planned before opens nothing
            return []
        replies: list[Outbound] = []
        current = self._checklists.current_round(key=team)
        if current is not None:
            if (current.school_year, current.number) == (school_year, number):
                return []
            replies += self.close_round(team=team, now=now)
        try:
            round_ = self._checklists.open_round(
                key=team,
                number=number,
                school_year=school_year,
                deadline=deadline,
                opened_by=opened_by,
                now=now,
            )
        except (ChecklistRoundExistsError, OtherChecklistRoundOpenError):
            return replies
        texts = Catalogue(settings.locale)
        teachers = self._checklists.teachers(key=team)
        replies.append(
            _channel(
                team,
                texts.t(
                    "checklist.round_open_team",
                    title=self._checklist.title,
                    round=round_name(round_, texts),
                    deadline=deadline_text(round_, texts),
                    invited=(
                        texts.t("checklist.round_open_invited", count=len(teachers))
                        if teachers
                        else texts.t("checklist.round_open_nobody")
                    ),
                ),
            )
        )
        for teacher in teachers:
            view = self._flow.view(teacher)
            key = "checklist.round_open_dm" if view.pupils else "checklist.round_open_dm_no_class"
            text = texts.t(
                key,
                round=round_name(round_, texts),
                deadline=deadline_text(round_, texts),
                count=len(view.pupils),
            )
            replies.append(dm(teacher, text, buttons=go_buttons(view)))
        return replies

    def unfinished_teachers(self, *, team: TeamKey) -> list[str]:
        """Bound teachers (user ids) who have not scored all their pupils in the open round.

        A teacher without a class has not finished either: they still have to
        register it. Empty when no round is open.
        """
        return [progress.user for progress in self._unfinished(team)]

    def remind(self, *, team: TeamKey, now: datetime) -> list[Outbound]:
        """A DM to each unfinished teacher with their progress ("12 van 27 leerlingen").

        Args:
            team: The team.
            now: The moment of the reminder (kept for the scheduler's symmetry and
                the log; progress is read from the store).
        """
        round_ = self._checklists.current_round(key=team)
        settings = self._store.get_team(key=team)
        if round_ is None or settings is None or not settings.checklist_enabled:
            return []
        texts = Catalogue(settings.locale)
        unfinished = {progress.user: progress for progress in self._unfinished(team)}
        replies = []
        for teacher in self._checklists.teachers(key=team):
            progress = unfinished.get(teacher.key.user)
            if progress is None:
                continue
            view = self._flow.view(teacher)
            key = "checklist.remind" if progress.pupils else "checklist.remind_no_class"
            text = texts.t(
                key,
                round=round_name(round_, texts),
                deadline=deadline_text(round_, texts),
                done=progress.complete,
                count=progress.pupils,
            )
            replies.append(dm(teacher, text, buttons=go_buttons(view)))
        _LOG.info(
            "checklist: reminded %d teachers of round %d at %s", len(replies), round_.id, now
        )
        return replies

    def close_round(
        self, *, team: TeamKey, now: datetime, team_post: bool = True
    ) -> list[Outbound]:
        """Close the open round: the team aggregate to the channel, after round 2 the
        private per-pupil comparison to each teacher. Nothing when no round is open.

        ``team_post=False`` closes it quietly (the checklist was switched off): no
        post in the channel, but after round 2 the teachers still get their own
        comparison, since it is their work and only theirs.
        """
        round_ = self._checklists.current_round(key=team)
        settings = self._store.get_team(key=team)
        if round_ is None or settings is None:
            return []
        try:
            closed = self._checklists.close_round(key=team, round_id=round_.id, now=now)
        except ChecklistRoundNotOpenError:
            return []
        self._checklists.settle_after_close(key=team)
        replies = [self._results.team_message(team=settings, round_=closed)] if team_post else []
        if closed.number == 2:
            replies += self._results.comparison_messages(team=settings, round_=closed)
        return replies

    def announce(self, *, team: TeamKey, text_key: str, **values: object) -> list[Outbound]:
        """A catalogue text to the team channel (e.g. "na de kerstvakantie volgt ronde 2").

        Nothing while the team has the checklist switched off.

        Args:
            team: The team.
            text_key: A catalogue key, e.g. ``checklist.announce_round2``.
            **values: The placeholders of that text.

        Raises:
            KeyError: The key is in no catalogue (a programming error).
        """
        settings = self._store.get_team(key=team)
        if settings is None or not settings.checklist_enabled:
            return []
        return [_channel(team, Catalogue(settings.locale).t(text_key, **values))]

    def current_round(self, *, team: TeamKey) -> ChecklistRound | None:
        """The team's open checklist round."""
        return self._checklists.current_round(key=team)

    def progress(self, *, team: TeamKey) -> list[TeacherProgress]:
        """Counts per bound teacher in the open round (empty when none is open)."""
        round_ = self._checklists.current_round(key=team)
        if round_ is None:
            return []
        return self._checklists.progress(
            key=team, round_id=round_.id, statements=len(self._checklist.statements)
        )

    def _unfinished(self, team: TeamKey) -> list[TeacherProgress]:
        return [progress for progress in self.progress(team=team) if not progress.finished]


def _channel(team: TeamKey, text: str) -> Outbound:
    return Outbound(destination=Destination.team_channel(team=team.team), text=text)
