"""``/quickscan help`` and words that are no command: answered only to the sender."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from bot.commands.common import TeamCommandRoute, command_of
from bot.commands.parse import Command, Sub
from bot.core.context import EventContext
from bot.privacy.policy import RetentionPolicy
from conversations.core.messages import Outbound, Where
from conversations.core.text_input import quote
from storage.quickscan.records import Team
from storage.quickscan.store import Store


class HelpRoute(TeamCommandRoute):
    """``/quickscan help`` (or ``/quickscan`` alone): the commands, who coordinates, privacy."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.HELP})

    def __init__(
        self,
        *,
        store: Store,
        retention: RetentionPolicy,
        instruments: Mapping[str, str],
        default_instrument: str,
    ) -> None:
        """``instruments`` maps each startable instrument's id to its title.

        The help lists them from the loaded files, so an instrument added as data
        (a VO variant, another survey) is named without a code change.
        """
        self._store = store
        self._retention = retention
        self._instruments = dict(instruments)
        self._default = default_instrument

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The help text, privately."""
        texts = ctx.texts
        named = ", ".join(self._store.coordinators(key=ctx.key))
        # Nobody named yet: on Telegram the group's admins manage the team; elsewhere
        # whoever first starts a round becomes coordinator (there are no admins to name).
        nobody = "help.admins_only" if ctx.event.admins_known else "input.help_no_coordinator"
        coordinators = named or texts.t(nobody)
        # The retention policy is part of the help, so every member can see it.
        privacy = texts.t(
            "privacy.help",
            months=texts.t("privacy.months", count=self._retention.answer_months),
            days=texts.t("privacy.days", count=self._retention.event_days),
        )
        text = texts.t("help.text", coordinators=coordinators, instruments=self._listing(ctx))
        text += "\n\n" + privacy
        return [ctx.private(text)]

    def _listing(self, ctx: EventContext) -> str:
        """The instruments as ids with titles, the default first and marked as such."""
        order = sorted(self._instruments, key=lambda key: (key != self._default, key))
        default = ctx.texts.t("start.default_instrument")
        return "; ".join(
            f"{key} ({self._instruments[key]}, {default})"
            if key == self._default
            else f"{key} ({self._instruments[key]})"
            for key in order
        )


class UnknownCommandRoute(TeamCommandRoute):
    """``/quickscan <a word that names no subcommand>``: say so, quoted bounded.

    Last of the team-channel routes. The team is created first, as for any
    command in its channel.
    """

    def check(self, ctx: EventContext) -> bool:
        """A command in the team channel whose word is no subcommand."""
        if ctx.event.where is not Where.TEAM:
            return False
        command = command_of(ctx)
        return command is not None and command.sub is None

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The "not a command" answer, privately."""
        return [ctx.private(ctx.texts.t("cmd.unknown", word=quote(command.word)))]
