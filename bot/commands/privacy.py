"""Members' rights under the AVG: ``/quickscan mijn-gegevens`` and ``/quickscan vergeet-mij``.

* ``mijn-gegevens`` (``my-data``): the member gets, in their DM, a JSON file with
  everything the bot holds about them in this workspace (quickscan rows, checklist
  data with their pupil codes); the channel only sees a short ack meant for them.
  The file is written when the DM is delivered (bot/privacy/member_files.py).
* ``vergeet-mij`` (``forget-me``): explains what would be erased and what stays;
  ``vergeet-mij bevestig`` (``confirm``) erases it. Closed rounds' published
  results stay as they were: they are aggregates that name nobody.

Both work in the team channel and in the DM, never create a team or a
coordinator (asking what is stored must not store anything: the routes do not
need a team), and every reply is private.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Protocol

from bot.commands.common import command_of
from bot.commands.parse import Sub, arg_words
from bot.core.context import EventContext
from bot.privacy.member_files import ChecklistTeacherData, member_data_attachment, member_folder
from bot.privacy.policy import RetentionPolicy
from bot.privacy.retention import Retention, Snapshots
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound, Where
from storage import db
from storage.checklist.store import ChecklistStore
from storage.privacy.member_data import MemberData
from storage.quickscan.store import Store

log = logging.getLogger(__name__)

CONFIRM_WORDS = arg_words("confirm")  # vergeet-mij bevestig


class ChecklistPersonalData(ChecklistTeacherData, Protocol):
    """The checklist's side of the rights (storage/checklist/store.py)."""

    def forget_teacher(self, *, platform: str, workspace: str, user: str) -> int:
        """Erase the teacher's bindings, pupils, scores and steps; returns pupils erased."""
        ...


class QueuedMessages(Protocol):
    """Messages still waiting for the member in the outbox (storage/delivery/outbox.py)."""

    def forget_user(self, *, platform: str, workspace: str, user: str) -> int:
        """Delete every row to the member, sent or not; returns rows deleted."""
        ...


class Fingerprints(Protocol):
    """Respondent fingerprints kept in result snapshots (storage/results/store.py)."""

    def forget_member(self, *, platform: str, workspace: str, user: str) -> int:
        """Remove the member's fingerprint from every snapshot; published figures stay."""
        ...


def texts_for(ctx: EventContext) -> Catalogue:
    """The team's language in its channel; Dutch in a DM, whose team may be anyone's."""
    return ctx.texts if ctx.event.where is Where.TEAM else Catalogue()


class _PrivacyRoute:
    """A privacy command, in the channel or the DM, for whoever types it."""

    sub: Sub
    needs_team = False  # asking what is stored must not create a team or a coordinator
    coordinator_only = False
    replans = False

    def check(self, ctx: EventContext) -> bool:
        """This privacy command, wherever it is typed."""
        command = command_of(ctx)
        return command is not None and command.sub is self.sub


class MyDataRoute(_PrivacyRoute):
    """``/quickscan mijn-gegevens``: the member's data file, to their DM only."""

    sub = Sub.MIJN_GEGEVENS

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """A DM that carries the data file (made at delivery); in the channel, an ack too."""
        texts = texts_for(ctx)
        event = ctx.event
        file = Outbound(
            destination=Destination.dm(team=event.team, user=ctx.user),
            text=texts.t("privacy.data_sent"),
            attachment=member_data_attachment(
                platform=event.platform,
                workspace=event.workspace,
                user=ctx.user,
                generated_at=ctx.now,
                locale=texts.locale,
            ),
        )
        if event.where is Where.DM:
            return [file]
        return [ctx.private(texts.t("privacy.data_ack")), file]


class ForgetMeRoute(_PrivacyRoute):
    """``/quickscan vergeet-mij [bevestig]``: explain, and on confirmation erase."""

    sub = Sub.VERGEET_MIJ

    def __init__(
        self,
        *,
        store: Store,
        checklist: ChecklistPersonalData,
        fingerprints: Fingerprints,
        snapshots: Snapshots,
        outbox: QueuedMessages,
        output_dir: Path,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._members = MemberData(store=store)
        self._checklist = checklist
        self._fingerprints = fingerprints
        self._snapshots = snapshots
        self._output_dir = output_dir

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """What would go, what went, or how to confirm; only to the sender."""
        texts = texts_for(ctx)
        command = command_of(ctx)
        args = command.args if command is not None else ()
        if not args:
            return [ctx.private(self._explanation(ctx, texts))]
        if len(args) == 1 and args[0].lower() in CONFIRM_WORDS:
            return [ctx.private(self._forget(ctx, texts))]
        return [ctx.private(texts.t("privacy.forget_usage"))]

    def _explanation(self, ctx: EventContext, texts: Catalogue) -> str:
        event = ctx.event
        last = self._members.last_coordinator_of(
            platform=event.platform, workspace=event.workspace, user=ctx.user
        )
        text = texts.t("privacy.forget_explain")
        if last:
            warning = texts.t("privacy.forget_last_coordinator_warning", teams=", ".join(last))
            text += "\n" + warning
        return text

    def _forget(self, ctx: EventContext, texts: Catalogue) -> str:
        where = {"platform": ctx.event.platform, "workspace": ctx.event.workspace}
        user = ctx.user
        self._freeze_before_erasure(**where, user=user)
        forgotten = self._members.forget(**where, user=user)
        pupils = self._checklist.forget_teacher(**where, user=user)
        self._fingerprints.forget_member(**where, user=user)
        # Queued before this event, still unsent: never delivered after the erasure.
        # The confirmation below is queued after this, so it still reaches them.
        self._outbox.forget_user(**where, user=user)
        shutil.rmtree(
            member_folder(output_dir=self._output_dir, **where, user=user), ignore_errors=True
        )
        db.checkpoint(engine=self._store.engine)
        log.info("member data erased on request")
        text = texts.t(
            "privacy.forget_done",
            participations=texts.t(
                "privacy.forget_participations", count=forgotten.participations
            ),
            answers=texts.t("privacy.forget_answers", count=forgotten.answers),
            roles=texts.t("privacy.forget_roles", count=forgotten.coordinator_roles),
            pupils=texts.t("privacy.forget_pupils", count=pupils),
        )
        if forgotten.last_coordinator_of:
            text += "\n" + texts.t(
                "privacy.forget_last_coordinator_done",
                teams=", ".join(forgotten.last_coordinator_of),
            )
        return text

    def _freeze_before_erasure(self, *, platform: str, workspace: str, user: str) -> None:
        """Snapshot the member's closed rounds that have none, while their answers exist.

        A round closed before snapshots existed is frozen on its first later view;
        frozen after the erasure, its figures would differ from the close post by
        exactly this member's answers. A round whose instrument is no longer
        installed cannot be shown at all, so erasure goes ahead (as in retention).
        """
        for key, round_id in self._members.unfrozen_rounds(
            platform=platform, workspace=workspace, user=user
        ):
            team = self._store.get_team(key=key)
            round_ = self._store.get_round(key=key, round_id=round_id)
            if team is None or round_ is None:
                continue
            try:
                self._snapshots.ensure_snapshot(team=team, round_=round_)
            except LookupError:
                log.warning("erasure: round %d could not be frozen first", round_id)


def build_retention(
    *, store: Store, snapshots: Snapshots, output_dir: Path, policy: RetentionPolicy
) -> Retention:
    """The daily retention job on the engine's store, sharing its cipher.

    It reaches across the quickscan, the checklist and the result snapshots, so it
    gets a checklist store of its own on the same database rather than a service's.
    """
    return Retention(
        store=store,
        snapshots=snapshots,
        checklist=ChecklistStore(engine=store.engine, cipher=store.cipher),
        output_dir=output_dir,
        policy=policy,
    )
