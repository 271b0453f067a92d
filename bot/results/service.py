"""Team results of closed rounds: the post, the chart and the export, from the snapshot.

A round's result is computed once, when it closes, and frozen (bot/results/snapshot.py,
``storage.results.store``): the close post, ``grafiek``, ``export`` and the next
round's trend all render that snapshot. A later change of the minimum or the
thresholds therefore never opens or alters a closed round, and the result
outlives the individual answers that retention deletes.

Charts and exports are not drawn here: a message carries an attachment that the
delivery renders from the snapshot when it sends it (bot/results/files.py), so
the messages are decided, and queued, in the transaction that closes the round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.plans.progress import PlanProgress
from bot.results.anonymity import Tier, comparison_minimum, difference, fingerprints_of
from bot.results.files import chart_attachment, export_attachment
from bot.results.labels import LabelRules
from bot.results.merge import merge, open_answers_of
from bot.results.paired_freeze import freeze as freeze_paired
from bot.results.paired_service import paired_post
from bot.results.report import TeamReport, build_report
from bot.results.snapshot import RoundSnapshot
from bot.results.team_result import Downgrade, TeamResult
from bot.results.text import render_report
from bot.results.trend import FactorChange, compare
from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from conversations.instrument import Quickscan
from storage.keys import TeamKey
from storage.quickscan.records import (
    DEFAULT_MIN_RESPONDENTS,
    DEFAULT_MIN_TEXT_RESPONDENTS,
    Round,
    RoundStatus,
    Team,
)
from storage.quickscan.store import Store
from storage.results.store import ResultStore, member_identity


def result_key(round_id: int) -> str:
    """The outbox de-duplication key of a round's result post: it is posted once."""
    return f"result:{round_id}"


class Results:
    """Decides what a closed round shows: the post, and which chart or spreadsheet."""

    def __init__(
        self,
        *,
        store: Store,
        instruments: Mapping[str, Quickscan],
        clock: Clock,
    ) -> None:
        self._store = store
        self._snapshots = ResultStore(engine=store.engine)
        self._instruments = instruments
        self._clock = clock
        self._progress = PlanProgress(store=store, instruments=instruments)

    def latest_closed(self, *, key: TeamKey) -> Round | None:
        """The team's most recently closed round of any quickscan."""
        closed = [
            round_
            for instrument_id in self._instruments
            for round_ in self._store.closed_rounds(key=key, instrument_id=instrument_id)
        ]
        return max(closed, key=lambda r: (r.closed_at or r.opened_at, r.id), default=None)

    def result_messages(self, *, team: Team, round_: Round) -> list[Outbound]:
        """The headline post (with the chart) and its details, for the team channel.

        Called right after the round closed, in the same transaction: the snapshot
        is taken now, with the team's settings of this moment, unless another
        process already took it. The post is keyed by the round, so it is queued
        once however often a close is retried.
        """
        texts = Catalogue(team.locale)
        instrument = self._instruments[round_.instrument_id]
        snapshot = self._snapshot(team=team, round_=round_, at_close=True)
        if instrument.paired is not None:
            post = paired_post(
                team=team, round_id=round_.id, instrument=instrument, snapshot=snapshot
            )
            return [replace(post, key=result_key(round_.id))]
        result = snapshot.result(instrument=instrument)
        if snapshot.open_shown:
            # The texts are not frozen (they are personal data); shown once, here.
            result = open_answers_of(
                result=result,
                instrument=instrument,
                responses=self._store.submitted_answers(key=team.key, round_id=round_.id),
                questions=snapshot.open_shown,
            )
        report = build_report(
            instrument=instrument, result=result, trend=snapshot.changes(current=result)
        )
        post = self._post(team, report, texts)
        if result.itemised:
            chart = chart_attachment(
                key=team.key,
                round_id=round_.id,
                instrument_id=instrument.id,
                locale=texts.locale,
                per_item=False,
            )
            post = replace(post, attachment=chart)
        # The change on the factors of the team's plan, if it agreed one (bot/plans/progress.py).
        progress = self._progress.messages(team=team, round_=round_, after=snapshot)
        return [replace(post, key=result_key(round_.id)), *progress]

    def chart_message(self, *, team: Team, round_: Round, per_item: bool) -> Outbound | None:
        """A chart for the team channel, or None unless the round has exact figures."""
        result = self._frozen(team=team, round_=round_)
        if not result.itemised:
            return None
        texts = Catalogue(team.locale)
        title_key = "chart.items_title" if per_item else "chart.factors_title"
        if self._instruments[round_.instrument_id].paired is not None:
            title_key = "survey.chart_title"  # one view: experience and importance per statement
        return Outbound(
            destination=Destination.team_channel(team=team.key.team),
            text=texts.t(title_key, respondents=result.respondents),
            attachment=chart_attachment(
                key=team.key,
                round_id=round_.id,
                instrument_id=round_.instrument_id,
                locale=texts.locale,
                per_item=per_item,
            ),
        )

    def export_message(self, *, team: Team, round_: Round, user: str) -> Outbound | None:
        """The merged result as .xlsx, privately to ``user``; None unless exact.

        The workbook is dated with this moment (the injected clock), not with the
        moment the delivery happens to write it.
        """
        result = self._frozen(team=team, round_=round_)
        if not result.itemised:
            return None
        texts = Catalogue(team.locale)
        instrument = self._instruments[round_.instrument_id]
        return Outbound(
            destination=Destination.dm(team=team.key.team, user=user),
            text=texts.t("export.sent", title=instrument.title),
            attachment=export_attachment(
                key=team.key,
                round_id=round_.id,
                instrument_id=instrument.id,
                locale=texts.locale,
                generated_at=self._clock.now(),
            ),
        )

    def ensure_snapshot(self, *, team: Team, round_: Round) -> None:
        """Freeze a closed round's result if it has no snapshot yet (idempotent).

        For rounds closed before snapshots existed, before retention deletes their
        answers. Their settings at close are unknown, so the stricter of the team's
        minimum and the default (5) applies: never more than the close post could
        have shown. Safe with two processes (the first snapshot wins).

        Raises:
            ValueError: The round is still open: its result cannot be frozen yet.
        """
        if round_.status is not RoundStatus.CLOSED:
            raise ValueError(f"round {round_.id} is still open; only closed rounds are frozen")
        self._snapshot(team=team, round_=round_, at_close=False)

    # ---------------------------------------------------------------- helpers

    def _frozen(self, *, team: Team, round_: Round) -> TeamResult:
        """The closed round's result as frozen at close."""
        snapshot = self._snapshot(team=team, round_=round_, at_close=False)
        return snapshot.result(instrument=self._instruments[round_.instrument_id])

    def _snapshot(self, *, team: Team, round_: Round, at_close: bool) -> RoundSnapshot:
        """The round's snapshot: the stored one, else taken now and stored.

        Of two processes taking it at once, the first insert wins and both return it.
        """
        stored = self._snapshots.load(key=team.key, round_id=round_.id)
        if stored is not None:
            return RoundSnapshot.from_json(stored)
        taken = self._take(team=team, round_=round_, legacy=not at_close)
        self._snapshots.save_if_absent(
            round_id=round_.id, snapshot=taken.to_json(), now=self._clock.now()
        )
        stored = self._snapshots.load(key=team.key, round_id=round_.id)
        return taken if stored is None else RoundSnapshot.from_json(stored)

    def _take(self, *, team: Team, round_: Round, legacy: bool) -> RoundSnapshot:
        """Merge the round's answers in the tier allowed now, with comparison and trend."""
        key = team.key
        instrument = self._instruments[round_.instrument_id]
        minimum, text_minimum = team.min_respondents, team.min_text_respondents
        if legacy:
            minimum = max(minimum, DEFAULT_MIN_RESPONDENTS)
            text_minimum = max(text_minimum, DEFAULT_MIN_TEXT_RESPONDENTS)
        members = [
            member_identity(platform=p.key.platform, workspace=p.key.workspace, user=p.key.user)
            for p in self._store.participations(key=key, round_id=round_.id)
            if p.submitted_at is not None
        ]
        earlier = self._earlier(team=team, round_=round_)
        downgrade = _downgrade(
            earlier=earlier, members=members, minimum=comparison_minimum(minimum)
        )
        # Read once: a paired survey's freeze below needs the same answers.
        responses = self._store.submitted_answers(key=key, round_id=round_.id)
        result = merge(
            instrument=instrument,
            responses=responses,
            invited=self._store.round_counts(key=key, round_id=round_.id).invited,
            min_respondents=minimum,
            min_text_respondents=text_minimum,
            rules=LabelRules.from_mapping(team.label_rules),
            downgrade=downgrade,
        )
        previous = earlier[-1] if earlier else None
        trend: tuple[FactorChange, ...] = ()
        if previous is not None and previous.tier is Tier.EXACT and result.itemised:
            trend = compare(previous=previous.result(instrument=instrument), current=result)
        snapshot = RoundSnapshot.of(
            result=result,
            min_text_respondents=text_minimum,
            trend=trend,
            # Only exact rounds are compared with later ones: no other round keeps them.
            fingerprints=fingerprints_of(members) if result.itemised else None,
            legacy=legacy,
        )
        if instrument.paired is None:
            return snapshot
        return freeze_paired(
            snapshot=snapshot,
            instrument=instrument,
            responses=responses,
            previous=previous,
            rules=LabelRules.from_mapping(team.label_rules),
        )

    def _earlier(self, *, team: Team, round_: Round) -> list[RoundSnapshot]:
        """Snapshots of the team's rounds of the same instrument opened before this one.

        Oldest first. A legacy round without a snapshot gets one now, so the
        comparison and the trend read frozen results only.
        """
        earlier = sorted(
            (
                other
                for other in self._store.closed_rounds(
                    key=team.key, instrument_id=round_.instrument_id
                )
                if other.id != round_.id and other.opened_at < round_.opened_at
            ),
            key=lambda other: (other.opened_at, other.id),
        )
        return [self._snapshot(team=team, round_=other, at_close=False) for other in earlier]

    @staticmethod
    def _post(team: Team, report: TeamReport, texts: Catalogue) -> Outbound:
        headline, details = render_report(report=report, texts=texts)
        return Outbound(
            destination=Destination.team_channel(team=team.key.team),
            text=headline,
            details=details,
        )


def _downgrade(
    *, earlier: list[RoundSnapshot], members: list[str], minimum: int
) -> Downgrade | None:
    """The comparison with every earlier round that published exact figures.

    When the respondents differ by 1 .. minimum - 1 people (``minimum`` is
    :func:`~bot.results.anonymity.comparison_minimum`: never below the exact tier's 5), the
    two results side by side would show those few people's answers: the new round
    is coarse at most.
    If someone of the exact round may have left, even coarse labels could tell what
    they answered (the exact counts minus the rest), so only participation is shown.
    """
    verdict: Downgrade | None = None
    for snapshot in earlier:
        if snapshot.tier is not Tier.EXACT or snapshot.fingerprints is None:
            continue
        change = difference(earlier=snapshot.fingerprints, members=members)
        if not change.exposes(minimum=minimum):
            continue
        withhold = change.leavers or (verdict is not None and verdict.withhold_labels)
        verdict = Downgrade(withhold_labels=withhold)
    return verdict
