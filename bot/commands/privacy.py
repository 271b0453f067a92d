"""Members' rights under the AVG: ``/quickscan mijn-gegevens`` and ``/quickscan vergeet-mij``.

* ``mijn-gegevens`` (``my-data``): the member gets, in their DM, a JSON file with
  everything the bot holds about them in this workspace (quickscan rows, checklist
  data with their pupil codes); the channel only sees a short ack meant for them.
* ``vergeet-mij`` (``forget-me``): explains what would be erased and what stays;
  ``vergeet-mij bevestig`` (``confirm``) erases it. Closed rounds' published
  results stay as they were: they are aggregates that name nobody.

Both work in the team channel and in the DM, never create a team or a
coordinator (asking what is stored must not store anything), and every reply is
private.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.commands.parse import Sub, is_command, parse_command
from bot.privacy.files import write_private
from bot.privacy.policy import RetentionPolicy
from bot.privacy.retention import Retention, Snapshots
from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Inbound, Outbound, Where
from storage import db
from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.privacy.member_data import MemberData
from storage.quickscan.store import Store
from storage.results.store import ResultStore

log = logging.getLogger(__name__)

PRIVACY_SUBS = frozenset({Sub.MIJN_GEGEVENS, Sub.VERGEET_MIJ})
CONFIRM_WORDS = frozenset({"bevestig", "bevestigen", "confirm"})
DATA_FOLDER = "mijn-gegevens"
EXPORT_FORMAT = "quickscan-bot/mijn-gegevens/1"


class ChecklistPersonalData(Protocol):
    """The checklist's side of the rights (storage/checklist_store.py)."""

    def teacher_data(self, *, platform: str, workspace: str, user: str) -> list[dict[str, object]]:
        """What the checklist holds of this teacher, pupil codes included."""
        ...

    def forget_teacher(self, *, platform: str, workspace: str, user: str) -> int:
        """Erase the teacher's bindings, pupils, scores and steps; returns pupils erased."""
        ...


class Fingerprints(Protocol):
    """Respondent fingerprints kept in result snapshots (storage/result_store.py)."""

    def forget_member(self, *, platform: str, workspace: str, user: str) -> int:
        """Remove the member's fingerprint from every snapshot; published figures stay."""
        ...


def is_privacy_command(text: str) -> bool:
    """Whether a message is ``/quickscan mijn-gegevens`` or ``/quickscan vergeet-mij``."""
    return is_command(text) and parse_command(text).sub in PRIVACY_SUBS


class MemberRights:
    """Handles the two privacy commands for whoever types them."""

    def __init__(
        self,
        *,
        store: Store,
        checklist: ChecklistPersonalData,
        fingerprints: Fingerprints,
        snapshots: Snapshots,
        output_dir: Path,
        clock: Clock,
    ) -> None:
        self._store = store
        self._snapshots = snapshots
        self._members = MemberData(store=store)
        self._checklist = checklist
        self._fingerprints = fingerprints
        self._output_dir = output_dir
        self._clock = clock

    def handle(self, event: Inbound) -> list[Outbound]:
        """One privacy command in; replies only to its sender."""
        command = parse_command(event.text)
        texts = self._texts(event)
        if command.sub is Sub.MIJN_GEGEVENS:
            return self._my_data(event, texts)
        if not command.args:
            return [self._reply(event, self._explanation(event, texts))]
        if len(command.args) == 1 and command.args[0].lower() in CONFIRM_WORDS:
            return [self._reply(event, self._forget(event, texts))]
        return [self._reply(event, texts.t("privacy.forget_usage"))]

    # ------------------------------------------------------------ mijn-gegevens

    def _my_data(self, event: Inbound, texts: Catalogue) -> list[Outbound]:
        where = {"platform": event.platform, "workspace": event.workspace}
        user = event.sender.user
        data = {
            "format": EXPORT_FORMAT,
            "generated_at": self._clock.now().isoformat(),
            **where,
            "user": user,
            "about": texts.t("privacy.export_about"),
            "quickscan": self._members.export(**where, user=user),
            "checklist": self._checklist.teacher_data(**where, user=user),
        }
        stamp = self._clock.now().strftime("%Y%m%d")
        path = write_private(
            self._member_folder(event) / f"mijn-gegevens-{stamp}-{secrets.token_hex(4)}.json",
            json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8"),
        )
        log.info("member data export written")
        file = Outbound(
            destination=Destination.dm(team=event.team, user=user),
            text=texts.t("privacy.data_sent"),
            file=path,
        )
        if event.where is Where.DM:
            return [file]
        return [self._reply(event, texts.t("privacy.data_ack")), file]

    # --------------------------------------------------------------- vergeet-mij

    def _explanation(self, event: Inbound, texts: Catalogue) -> str:
        last = self._members.last_coordinator_of(
            platform=event.platform, workspace=event.workspace, user=event.sender.user
        )
        text = texts.t("privacy.forget_explain")
        if last:
            warning = texts.t("privacy.forget_last_coordinator_warning", teams=", ".join(last))
            text += "\n" + warning
        return text

    def _forget(self, event: Inbound, texts: Catalogue) -> str:
        where = {"platform": event.platform, "workspace": event.workspace}
        user = event.sender.user
        self._freeze_before_erasure(**where, user=user)
        forgotten = self._members.forget(**where, user=user)
        pupils = self._checklist.forget_teacher(**where, user=user)
        self._fingerprints.forget_member(**where, user=user)
        shutil.rmtree(self._member_folder(event), ignore_errors=True)
        db.checkpoint(engine=self._store.engine)
        log.info("member data erased on request")
        text = texts.t(
            "privacy.forget_done",
            participations=forgotten.participations,
            answers=forgotten.answers,
            roles=forgotten.coordinator_roles,
            pupils=pupils,
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

    # ------------------------------------------------------------------ helpers

    def _member_folder(self, event: Inbound) -> Path:
        """This member's own folder for data exports, so erasure can remove them all.

        Named by a hash, so a directory listing does not show user ids.
        """
        digest = hashlib.sha256(
            f"{event.platform}\0{event.workspace}\0{event.sender.user}".encode()
        ).hexdigest()[:24]
        return self._output_dir / DATA_FOLDER / digest

    def _texts(self, event: Inbound) -> Catalogue:
        if event.where is Where.TEAM:
            team = self._store.get_team(
                key=TeamKey(platform=event.platform, workspace=event.workspace, team=event.team)
            )
            if team is not None:
                return Catalogue(team.locale)
        return Catalogue()

    @staticmethod
    def _reply(event: Inbound, text: str) -> Outbound:
        user = event.sender.user
        if event.where is Where.DM:
            return Outbound(destination=Destination.dm(team=event.team, user=user), text=text)
        return Outbound(destination=Destination.ephemeral(team=event.team, user=user), text=text)


@dataclass(frozen=True, slots=True)
class PrivacyParts:
    """The engine's AVG pieces: the retention job and the members' rights."""

    retention: Retention
    rights: MemberRights


def build_privacy(
    *,
    store: Store,
    snapshots: Snapshots,
    output_dir: Path,
    clock: Clock,
    policy: RetentionPolicy,
) -> PrivacyParts:
    """Wire retention and rights on the engine's store (sharing its cipher).

    Both reach across the quickscan, the checklist and the result snapshots, so
    they get their own stores on the same engine rather than the services'.
    """
    checklists = ChecklistStore(engine=store.engine, cipher=store.cipher)
    retention = Retention(
        store=store,
        snapshots=snapshots,
        checklist=checklists,
        output_dir=output_dir,
        policy=policy,
    )
    rights = MemberRights(
        store=store,
        checklist=checklists,
        fingerprints=ResultStore(engine=store.engine),
        snapshots=snapshots,
        output_dir=output_dir,
        clock=clock,
    )
    return PrivacyParts(retention=retention, rights=rights)
