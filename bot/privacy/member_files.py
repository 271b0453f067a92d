"""``/quickscan mijn-gegevens``: the member's data file, written at delivery.

The command only queues a DM carrying an attachment (who, when, which language,
and a random file name); the delivery worker renders it with
:meth:`MemberDataFiles.render` right before it sends the DM. So nothing of the
member's data sits on disk before it can be sent, and a failed send is simply
rendered again. The file holds what the bot holds *when it is written*: a
member who asked for their data and then erased it gets a file without it.

Every member's files live in a folder of their own, named by a hash so a
directory listing shows no user ids, which ``vergeet-mij`` removes whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bot.privacy.files import write_private
from conversations.core.i18n import Catalogue
from conversations.core.messages import Attachment, AttachmentKind
from storage.privacy.member_data import MemberData

log = logging.getLogger(__name__)

DATA_FOLDER = "mijn-gegevens"
EXPORT_FORMAT = "quickscan-bot/mijn-gegevens/1"
_NAME_TOKEN_BYTES = 4  # the file name is unguessable within the member's own folder


class ChecklistTeacherData(Protocol):
    """What the checklist holds of a teacher (storage/checklist/store.py)."""

    def teacher_data(self, *, platform: str, workspace: str, user: str) -> list[dict[str, object]]:
        """The teacher's bindings, classes and scores, pupil codes included."""
        ...


def member_folder(*, output_dir: Path, platform: str, workspace: str, user: str) -> Path:
    """This member's own folder for data files, so erasure can remove them all.

    Named by a hash, so a directory listing does not show user ids.
    """
    digest = hashlib.sha256(f"{platform}\0{workspace}\0{user}".encode()).hexdigest()[:24]
    return output_dir / DATA_FOLDER / digest


def member_data_attachment(
    *, platform: str, workspace: str, user: str, generated_at: datetime, locale: str
) -> Attachment:
    """The data file of ``user``, dated ``generated_at`` (the moment they asked).

    The random part of the file name is drawn now, so every attempt to deliver
    the same message writes the same file.
    """
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    return Attachment(
        kind=AttachmentKind.MEMBER_DATA,
        args=(
            ("platform", platform),
            ("workspace", workspace),
            ("user", user),
            ("generated_at", generated_at.isoformat()),
            ("locale", locale),
            ("token", secrets.token_hex(_NAME_TOKEN_BYTES)),
        ),
    )


class MemberDataFiles:
    """Renders members' data files (the renderer of ``AttachmentKind.MEMBER_DATA``)."""

    def __init__(
        self, *, members: MemberData, checklist: ChecklistTeacherData, output_dir: Path
    ) -> None:
        self._members = members
        self._checklist = checklist
        self._output_dir = output_dir

    def render(
        self,
        *,
        platform: str,
        workspace: str,
        user: str,
        generated_at: str,
        locale: str,
        token: str,
    ) -> Path:
        """Write the member's data as JSON, 0600 in their 0700 folder; returns its path."""
        where = {"platform": platform, "workspace": workspace}
        moment = datetime.fromisoformat(generated_at)
        data = {
            "format": EXPORT_FORMAT,
            "generated_at": moment.isoformat(),
            **where,
            "user": user,
            "about": Catalogue(locale).t("privacy.export_about"),
            "quickscan": self._members.export(**where, user=user),
            "checklist": self._checklist.teacher_data(**where, user=user),
        }
        folder = member_folder(output_dir=self._output_dir, **where, user=user)
        path = write_private(
            folder / f"mijn-gegevens-{moment.strftime('%Y%m%d')}-{token}.json",
            json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8"),
        )
        log.info("member data export written")
        return path
