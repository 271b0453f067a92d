"""The Web API methods the fake answers, each the way Slack's documentation says it does.

Public channels are visible to the bot without it (``channels:read``), private
ones only to their members; posting, ephemeral replies and uploads need the bot
in the channel (``not_in_channel`` otherwise). pins.add pins a message of a
channel (needs ``pins:write``: ``missing_scope`` with ``needed``/``provided``
otherwise, as Slack answers a token without the scope).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from tests.fakes.slack.records import (
    BOT_USER,
    WORKSPACE,
    Message,
    Upload,
    check_blocks,
)


class WebApiMethods:
    """The method handlers; :class:`~tests.fakes.slack.server.FakeSlack` holds the state.

    The server also gives ``base_url`` (upload and Socket Mode URLs point at it).
    """

    users: dict[str, dict[str, Any]]
    channels: dict[str, list[str]]
    private_channels: set[str]
    page_size: int
    messages: dict[tuple[str, str], Message]
    ephemerals: list[dict[str, Any]]
    views: list[dict[str, Any]]
    uploads: dict[str, Upload]
    _dm_failures: dict[str, str]
    _post_failures: dict[str, str]
    _pin_failures: dict[str, str]
    pins: dict[str, list[str]]
    scopes: set[str]
    _lock: threading.RLock
    _ids: Iterator[int]

    @staticmethod
    def dm_channel(user: str) -> str:
        """The DM channel conversations.open gives for ``user``."""
        return f"D{user[1:]}"

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._connections_open,
            "conversations.info": self._info,
            "conversations.members": self._members,
            "users.info": self._user_info,
            "conversations.open": self._open,
            "chat.postMessage": self._post,
            "chat.postEphemeral": self._ephemeral,
            "chat.update": self._update,
            "views.open": self._view,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "pins.add": self._pin,
        }.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(params)

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://school.slack.com/",
            "team": "School",
            "user": "quickscan",
            "team_id": WORKSPACE,
            "user_id": BOT_USER,
            "bot_id": "B0QSBOT01",
        }

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.base_url.replace("http", "ws", 1) + "/link/?ticket=1"}

    def _visible(self, channel: str) -> list[str] | None:
        """A channel's members, or None where the bot cannot see the channel at all.

        A public channel is visible without the bot in it (channels:read); a
        private one only to its members.
        """
        members = self.channels.get(channel)
        if members is None or (channel in self.private_channels and BOT_USER not in members):
            return None
        return members

    def _postable(self, channel: str) -> str | None:
        """Slack's error for posting into ``channel``, or None when the bot may post."""
        members = self._visible(channel)
        if members is None:
            return "channel_not_found"
        if BOT_USER not in members:
            return "not_in_channel"
        return None

    def _info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        members = self._visible(channel)
        if members is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith("D"):
            return {"ok": True, "channel": {"id": channel, "is_im": True, "user": members[0]}}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": channel.lower(),
                "is_channel": channel not in self.private_channels,
                "is_group": channel in self.private_channels,
                "is_private": channel in self.private_channels,
                "is_archived": False,
                "is_member": BOT_USER in members,
            },
        }

    def _members(self, params: dict[str, Any]) -> dict[str, Any]:
        members = self._visible(params.get("channel", ""))
        if members is None:
            return {"ok": False, "error": "channel_not_found"}
        start = int(str(params.get("cursor") or "0").removeprefix("page-"))
        size = min(int(params.get("limit") or 100), self.page_size)
        page = members[start : start + size]
        more = start + size < len(members)
        cursor = f"page-{start + size}" if more else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _user_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(params.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _open(self, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params.get("users", ""))
        if user in self._dm_failures:
            return {"ok": False, "error": self._dm_failures[user]}
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        channel = self.dm_channel(user)
        self.channels.setdefault(channel, [user, BOT_USER])
        return {"ok": True, "channel": {"id": channel}}

    def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel in self._post_failures:
            return {"ok": False, "error": self._post_failures[channel]}
        refused = self._postable(channel)
        if refused is not None:
            return {"ok": False, "error": refused}
        blocks = params.get("blocks") or []
        problem = check_blocks(blocks, params.get("text"))
        if problem:
            return {"ok": False, "error": problem}
        thread_ts = params.get("thread_ts")
        if thread_ts is not None and (channel, thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        ts = f"{1_700_000_000 + next(self._ids)}.000100"
        self.messages[(channel, ts)] = Message(
            channel=channel,
            ts=ts,
            text=str(params.get("text") or ""),
            blocks=blocks,
            thread_ts=thread_ts,
        )
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text")}}

    def _ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, user = str(params.get("channel", "")), str(params.get("user", ""))
        refused = self._postable(channel)
        if refused is not None:
            return {"ok": False, "error": refused}
        if user not in self.channels[channel]:
            return {"ok": False, "error": "user_not_in_channel"}
        blocks = params.get("blocks") or []
        problem = check_blocks(blocks, params.get("text"))
        if problem:
            return {"ok": False, "error": problem}
        self.ephemerals.append({"channel": channel, "user": user, "text": params.get("text")})
        return {"ok": True, "message_ts": f"{1_700_000_000 + next(self._ids)}.000200"}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (str(params.get("channel", "")), str(params.get("ts", "")))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        blocks = params.get("blocks") or []
        problem = check_blocks(blocks, params.get("text"))
        if problem:
            return {"ok": False, "error": problem}
        message.text = str(params.get("text") or "")
        message.blocks = blocks
        message.updates += 1
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _pin(self, params: dict[str, Any]) -> dict[str, Any]:
        """pins.add: channel and timestamp; Slack's documented errors, in its order."""
        if "pins:write" not in self.scopes:
            provided = ",".join(sorted(self.scopes))
            return {
                "ok": False,
                "error": "missing_scope",
                "needed": "pins:write",
                "provided": provided,
            }
        channel, ts = str(params.get("channel", "")), params.get("timestamp")
        if self._visible(channel) is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self._pin_failures:
            return {"ok": False, "error": self._pin_failures[channel]}
        if not ts:
            return {"ok": False, "error": "no_item_specified"}
        if not str(ts).replace(".", "", 1).isdigit():
            return {"ok": False, "error": "bad_timestamp"}
        if (channel, ts) not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        pinned = self.pins.setdefault(channel, [])
        if ts in pinned:
            return {"ok": False, "error": "already_pinned"}
        pinned.append(str(ts))
        return {"ok": True}

    def _view(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not params.get("trigger_id") or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        too_long = any(len(view[name]["text"]) > 24 for name in ("title", "submit", "close"))
        if too_long or len(view.get("private_metadata", "")) > 3000:
            return {"ok": False, "error": "invalid_arguments"}
        problem = check_blocks(view.get("blocks", []), "modal")
        if problem:
            return {"ok": False, "error": problem}
        opened = {**view, "id": f"V{next(self._ids):08d}", "hash": "h1", "team_id": WORKSPACE}
        self.views.append({"trigger_id": params["trigger_id"], "view": opened})
        return {"ok": True, "view": opened}

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = Upload(
            file_id=file_id, filename=str(params["filename"]), length=int(params["length"])
        )
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(params.get("files") or "[]")
        channel = params.get("channel_id")
        thread_ts = params.get("thread_ts")
        refused = self._postable(channel) if channel is not None else None
        if refused is not None:
            return {"ok": False, "error": refused}
        if thread_ts is not None and (channel, thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        for entry in files:
            upload = self.uploads.get(entry["id"])
            if upload is None or len(upload.data) != upload.length:
                return {"ok": False, "error": "file_not_found"}
            upload.channel, upload.thread_ts = channel, thread_ts
            upload.comment, upload.completed = params.get("initial_comment"), True
        return {
            "ok": True,
            "files": [{"id": entry["id"], "title": entry.get("title")} for entry in files],
        }
