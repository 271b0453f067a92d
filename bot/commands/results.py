"""``/quickscan grafiek [vragen] | export``: the latest closed round's chart and workbook.

Both read the round's frozen snapshot and carry the file as an attachment that
the delivery draws when it sends the message, so they show exactly what the
close post showed, however the team's settings changed since.
"""

from __future__ import annotations

from typing import ClassVar

from bot.commands.common import TeamCommandRoute
from bot.commands.parse import Command, Sub, arg_words
from bot.core.context import EventContext
from bot.results.service import Results
from conversations.core.messages import Outbound
from storage.quickscan.records import Team

CHART_ITEM_WORDS = arg_words("chart_items")  # grafiek vragen: per question


class ExportRoute(TeamCommandRoute):
    """``/quickscan export``: the result as .xlsx, to the coordinator's DM only."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.EXPORT})
    coordinator_only = True

    def __init__(self, *, results: Results) -> None:
        self._results = results

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """A private "on its way" and the DM with the workbook, or why there is none."""
        round_ = self._results.latest_closed(key=ctx.key)
        if round_ is None:
            return [ctx.private(ctx.texts.t("export.none"))]
        message = self._results.export_message(team=team, round_=round_, user=ctx.user)
        if message is None:
            return [ctx.private(ctx.texts.t("export.too_few"))]
        return [ctx.private(ctx.texts.t("export.sending")), message]


class ChartRoute(TeamCommandRoute):
    """``/quickscan grafiek [vragen]``: the chart per success factor or per question."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.GRAFIEK})

    def __init__(self, *, results: Results) -> None:
        self._results = results

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The chart for the channel, or privately why there is none."""
        per_item = bool(command.args) and command.args[0].lower() in CHART_ITEM_WORDS
        if command.args and not per_item:
            return [ctx.private(ctx.texts.t("chart.usage"))]
        round_ = self._results.latest_closed(key=ctx.key)
        if round_ is None:
            return [ctx.private(ctx.texts.t("export.none"))]
        message = self._results.chart_message(team=team, round_=round_, per_item=per_item)
        if message is None:
            return [ctx.private(ctx.texts.t("export.too_few"))]
        return [message]
