"""The channel post of a closed paired-survey round, from its frozen snapshot.

``bot.results.service.Results`` decides, per round, whether its instrument is a
quickscan or a paired survey; for a paired survey it asks this module for the post.
As for the quickscan, the chart is no part of the text: the post carries it as an
attachment that the delivery draws from the snapshot (bot/results/files.py).
"""

from __future__ import annotations

from dataclasses import replace

from bot.results.files import chart_attachment
from bot.results.paired import paired_result
from bot.results.paired_text import render_paired
from bot.results.snapshot import RoundSnapshot
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from conversations.instrument import Quickscan
from storage.quickscan.records import Team


def paired_post(
    *, team: Team, round_id: int, instrument: Quickscan, snapshot: RoundSnapshot
) -> Outbound:
    """The headline (with the chart when exact) and the details, for the team channel."""
    texts = Catalogue(team.locale)
    result = paired_result(instrument=instrument, snapshot=snapshot)
    headline, details = render_paired(result=result, texts=texts)
    post = Outbound(
        destination=Destination.team_channel(team=team.key.team),
        text=headline,
        details=details,
    )
    if not result.itemised:
        return post
    chart = chart_attachment(
        key=team.key,
        round_id=round_id,
        instrument_id=instrument.id,
        locale=texts.locale,
        per_item=False,
    )
    return replace(post, attachment=chart)
