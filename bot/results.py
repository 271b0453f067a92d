"""Team results of closed rounds: the post, the chart and the export.

Results are recomputed from the stored answers whenever they are asked for, so
a changed threshold or a fixed instrument text shows up everywhere at once and
no merged copy can drift from the answers it came from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from bot.chart import factor_chart, item_chart
from bot.clock import Clock
from bot.export import export_workbook
from bot.i18n import Catalogue
from bot.labels import LabelRules
from bot.merge import TeamResult, merge
from bot.messages import Destination, Outbound
from bot.report import TeamReport, build_report
from bot.result_text import render_report
from conversations.instrument import Quickscan
from storage.keys import TeamKey
from storage.records import Round, Team
from storage.store import Store

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class Results:
    """Builds what a closed round shows: text, chart and spreadsheet."""

    def __init__(
        self,
        *,
        store: Store,
        instruments: Mapping[str, Quickscan],
        clock: Clock,
        output_dir: Path,
    ) -> None:
        self._store = store
        self._instruments = instruments
        self._clock = clock
        self._output_dir = output_dir

    def latest_closed(self, *, key: TeamKey) -> Round | None:
        """The team's most recently closed round of any quickscan."""
        closed = [
            round_
            for instrument_id in self._instruments
            for round_ in self._store.closed_rounds(key=key, instrument_id=instrument_id)
        ]
        return max(closed, key=lambda r: (r.closed_at or r.opened_at, r.id), default=None)

    def result_messages(self, *, team: Team, round_: Round) -> list[Outbound]:
        """The headline post (with the chart) and its details, for the team channel."""
        texts = Catalogue(team.locale)
        instrument = self._instruments[round_.instrument_id]
        result = self._merge(team=team, round_=round_)
        chart = None
        if result.itemised:
            chart = factor_chart(
                result=result,
                instrument=instrument,
                path=self._path(team.key, round_, "factoren.png"),
                texts=texts,
            )
        report = build_report(
            instrument=instrument,
            result=result,
            previous=self._previous(team=team, round_=round_),
            chart=chart,
        )
        return [self._post(team, report, texts)]

    def chart_message(self, *, team: Team, round_: Round, per_item: bool) -> Outbound | None:
        """A chart for the team channel, or None below the minimum of respondents."""
        result = self._merge(team=team, round_=round_)
        if not result.itemised:
            return None
        texts = Catalogue(team.locale)
        draw = item_chart if per_item else factor_chart
        name = "vragen.png" if per_item else "factoren.png"
        path = draw(
            result=result,
            instrument=self._instruments[round_.instrument_id],
            path=self._path(team.key, round_, name),
            texts=texts,
        )
        title_key = "chart.items_title" if per_item else "chart.factors_title"
        return Outbound(
            destination=Destination.team_channel(team=team.key.team),
            text=texts.t(title_key, respondents=result.respondents),
            image=path,
        )

    def export_message(self, *, team: Team, round_: Round, user: str) -> Outbound | None:
        """The merged result as .xlsx, privately to ``user``; None below the minimum."""
        result = self._merge(team=team, round_=round_)
        if not result.itemised:
            return None
        texts = Catalogue(team.locale)
        instrument = self._instruments[round_.instrument_id]
        path = export_workbook(
            result=result,
            instrument=instrument,
            path=self._path(team.key, round_, "teamresultaat.xlsx"),
            texts=texts,
            generated_at=self._clock.now(),
        )
        return Outbound(
            destination=Destination.dm(team=team.key.team, user=user),
            text=texts.t("export.sent", title=instrument.title),
            file=path,
        )

    # ---------------------------------------------------------------- helpers

    def _merge(self, *, team: Team, round_: Round) -> TeamResult:
        key = team.key
        counts = self._store.round_counts(key=key, round_id=round_.id)
        return merge(
            instrument=self._instruments[round_.instrument_id],
            responses=self._store.submitted_answers(key=key, round_id=round_.id),
            invited=counts.invited,
            min_respondents=team.min_respondents,
            min_text_respondents=team.min_text_respondents,
            rules=LabelRules.from_mapping(team.label_rules),
        )

    def _previous(self, *, team: Team, round_: Round) -> TeamResult | None:
        """The result of the team's round of the same instrument closed before this one."""
        earlier = [
            other
            for other in self._store.closed_rounds(
                key=team.key, instrument_id=round_.instrument_id
            )
            if other.id != round_.id and other.opened_at < round_.opened_at
        ]
        if not earlier:
            return None
        latest = max(earlier, key=lambda other: (other.opened_at, other.id))
        return self._merge(team=team, round_=latest)

    def _post(self, team: Team, report: TeamReport, texts: Catalogue) -> Outbound:
        headline, details = render_report(report=report, texts=texts)
        return Outbound(
            destination=Destination.team_channel(team=team.key.team),
            text=headline,
            details=details,
            image=report.chart,
            report=report,
        )

    def _path(self, key: TeamKey, round_: Round, name: str) -> Path:
        folder = "-".join(
            _UNSAFE.sub("_", part) for part in (key.platform, key.workspace, key.team)
        )
        return self._output_dir / folder / f"ronde-{round_.id}-{name}"
