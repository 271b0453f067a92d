"""The chart and the .xlsx export of a closed round, made at delivery from its snapshot.

A paired survey's round (bot/results/paired.py) gets its own chart (experience and
importance per statement) and workbook under the same attachment kinds, so the
delivery needs to know nothing about instruments.

Handling ``sluit``, ``grafiek`` or ``export`` only decides *that* a file goes out:
the message carries an :class:`~conversations.core.messages.Attachment` naming the
round and everything the file depends on (view, language, export time). The
delivery worker calls the renderer below when it sends the message, so a crash or
an unwritable output folder between deciding and sending loses nothing: the
message stays in the outbox and the file is made again on the next attempt.

Rendering reads only the frozen snapshot (never the answers, which retention may
have deleted), and the same attachment always gives the same file at the same
path: the chart PNG and the workbook are deterministic for their inputs.

matplotlib and openpyxl are imported only where a chart is drawn or a workbook
written: a bot that never makes a file does not pay their start-up time and memory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from bot.delivery.attachments import AttachmentUnavailableError
from bot.results.paired import paired_result
from bot.results.snapshot import RoundSnapshot
from bot.results.team_result import TeamResult
from conversations.core.i18n import Catalogue
from conversations.core.messages import Attachment, AttachmentKind
from conversations.instrument import Quickscan
from storage.keys import TeamKey
from storage.results.store import ResultStore

FACTORS, ITEMS = "factors", "items"  # the chart's views: per success factor, per question
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def chart_attachment(
    *, key: TeamKey, round_id: int, instrument_id: str, locale: str, per_item: bool
) -> Attachment:
    """The chart of a closed round, per success factor or per question."""
    return Attachment(
        kind=AttachmentKind.QUICKSCAN_CHART,
        args=(
            *_round_args(key=key, round_id=round_id, instrument_id=instrument_id, locale=locale),
            ("view", ITEMS if per_item else FACTORS),
        ),
    )


def export_attachment(
    *, key: TeamKey, round_id: int, instrument_id: str, locale: str, generated_at: datetime
) -> Attachment:
    """The workbook of a closed round, stamped with the moment it was asked for."""
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    return Attachment(
        kind=AttachmentKind.QUICKSCAN_EXPORT,
        args=(
            *_round_args(key=key, round_id=round_id, instrument_id=instrument_id, locale=locale),
            ("generated_at", generated_at.isoformat()),
        ),
    )


class ResultFiles:
    """Renders a closed round's chart and export from its stored snapshot.

    :meth:`chart` and :meth:`export` are the renderers of
    :data:`~conversations.core.messages.AttachmentKind.QUICKSCAN_CHART` and
    ``QUICKSCAN_EXPORT`` (``bot.delivery.attachments``): they take the
    attachment's arguments as keyword arguments and return the file's path.
    """

    def __init__(
        self, *, results: ResultStore, instruments: Mapping[str, Quickscan], output_dir: Path
    ) -> None:
        self._results = results
        self._instruments = instruments
        self._output_dir = output_dir

    def chart(
        self,
        *,
        platform: str,
        workspace: str,
        team: str,
        round_id: str,
        instrument_id: str,
        locale: str,
        view: str,
    ) -> Path:
        """Draw the chart PNG; the same arguments draw the same bytes at the same path.

        Raises:
            AttachmentUnavailableError: The round has no snapshot (any more).
            ValueError: The snapshot has no exact figures (no chart may be drawn).
        """
        from bot.results.chart import factor_chart, item_chart  # matplotlib: only here

        key = TeamKey(platform=platform, workspace=workspace, team=team)
        instrument = self._instruments[instrument_id]
        if instrument.paired is not None:
            from bot.results.paired_chart import paired_chart  # matplotlib: only here

            # A paired survey has one view: experience and importance per statement.
            snapshot = self._snapshot(key, int(round_id))
            return paired_chart(
                result=paired_result(instrument=instrument, snapshot=snapshot),
                path=self.path(key=key, round_id=int(round_id), name="ervaring-belang.png"),
                texts=Catalogue(locale),
            )
        per_item = view == ITEMS
        draw = item_chart if per_item else factor_chart
        return draw(
            result=self._frozen(key, int(round_id), instrument),
            instrument=instrument,
            path=self.path(
                key=key, round_id=int(round_id), name="vragen.png" if per_item else "factoren.png"
            ),
            texts=Catalogue(locale),
        )

    def export(
        self,
        *,
        platform: str,
        workspace: str,
        team: str,
        round_id: str,
        instrument_id: str,
        locale: str,
        generated_at: str,
    ) -> Path:
        """Write the workbook, dated with the moment it was asked for (deterministic).

        Raises:
            AttachmentUnavailableError: The round has no snapshot (any more).
            ValueError: The snapshot has no exact figures (nothing may be exported).
        """
        from bot.results.export import export_workbook  # openpyxl: only here

        key = TeamKey(platform=platform, workspace=workspace, team=team)
        instrument = self._instruments[instrument_id]
        if instrument.paired is not None:
            from bot.results.paired_export import paired_workbook  # openpyxl: only here

            snapshot = self._snapshot(key, int(round_id))
            return paired_workbook(
                result=paired_result(instrument=instrument, snapshot=snapshot),
                path=self.path(key=key, round_id=int(round_id), name="teamresultaat.xlsx"),
                texts=Catalogue(locale),
                generated_at=datetime.fromisoformat(generated_at),
            )
        return export_workbook(
            result=self._frozen(key, int(round_id), instrument),
            instrument=instrument,
            path=self.path(key=key, round_id=int(round_id), name="teamresultaat.xlsx"),
            texts=Catalogue(locale),
            generated_at=datetime.fromisoformat(generated_at),
        )

    def path(self, *, key: TeamKey, round_id: int, name: str) -> Path:
        """Where a round's file goes: a folder per team, named from its (sanitised) key."""
        folder = "-".join(
            _UNSAFE.sub("_", part) for part in (key.platform, key.workspace, key.team)
        )
        return self._output_dir / folder / f"ronde-{round_id}-{name}"

    def _frozen(self, key: TeamKey, round_id: int, instrument: Quickscan) -> TeamResult:
        return self._snapshot(key, round_id).result(instrument=instrument)

    def _snapshot(self, key: TeamKey, round_id: int) -> RoundSnapshot:
        """The round's frozen snapshot.

        Raises:
            AttachmentUnavailableError: The round has no snapshot (any more).
        """
        stored = self._results.load(key=key, round_id=round_id)
        if stored is None:
            raise AttachmentUnavailableError(f"round {round_id} has no result snapshot")
        return RoundSnapshot.from_json(stored)


def _round_args(
    *, key: TeamKey, round_id: int, instrument_id: str, locale: str
) -> tuple[tuple[str, str], ...]:
    return (
        ("platform", key.platform),
        ("workspace", key.workspace),
        ("team", key.team),
        ("round_id", str(round_id)),
        ("instrument_id", instrument_id),
        ("locale", locale),
    )
