"""Slack's other side: signed slash commands, clicks, modal submissions and events.

:class:`SlackTeam` builds the payloads Slack would send, signs them (``v0``
HMAC-SHA256) and POSTs them to the adapter in HTTP mode, or sends them as Socket
Mode envelopes through the fake's WebSocket.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fakes.slack.records import BOT_USER, CHANNEL, SIGNING_SECRET, WAIT_S, WORKSPACE, Message
from tests.fakes.slack.server import FakeSlack


def sign(body: str, *, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Slack's request signature: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Reply:
    """The adapter's HTTP answer to one request."""

    status: int
    body: str


@dataclass
class SlackTeam:
    """Slack sending a team's commands and clicks to the adapter.

    Over HTTP (signed like Slack signs), or with ``socket`` as Socket Mode
    envelopes through the fake's WebSocket (no signature there: the app dialled
    out with its app token).
    """

    fake: FakeSlack
    address: tuple[str, int] | None
    wait_idle: Callable[[], None]
    path: str = "/slack/events"
    socket: bool = False
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------- payloads

    def command_body(self, user: str, text: str, *, channel: str = CHANNEL) -> str:
        """A form-encoded ``/quickscan`` body with a fresh trigger_id."""
        return urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": WORKSPACE,
                "team_domain": "school",
                "channel_id": channel,
                "channel_name": "team",
                "user_id": user,
                "user_name": self.fake.users[user]["name"],
                "command": "/quickscan",
                "text": text,
                "api_app_id": "A0QUICK01",
                "is_enterprise_install": "false",
                "response_url": f"{self.fake.base_url}/hooks/commands/{next(self._ids)}",
                "trigger_id": f"{next(self._ids)}.1234.abcdef",
            }
        )

    def action_body(self, user: str, message: Message, button: Mapping[str, Any]) -> str:
        """A ``block_actions`` payload for a click on ``button`` of ``message``."""
        payload = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": WORKSPACE,
            },
            "api_app_id": "A0QUICK01",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{next(self._ids)}.5678.fedcba",
            "team": {"id": WORKSPACE, "domain": "school"},
            "channel": {"id": message.channel, "name": "directmessage"},
            "message": {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "user": BOT_USER,
            },
            "response_url": f"{self.fake.base_url}/hooks/actions/{next(self._ids)}",
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": "b1",
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)})

    def view_body(self, user: str, view: Mapping[str, Any], text: str) -> str:
        """A ``view_submission`` payload of the answer modal with ``text`` typed."""
        payload = {
            "type": "view_submission",
            "team": {"id": WORKSPACE, "domain": "school"},
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": WORKSPACE,
            },
            "api_app_id": "A0QUICK01",
            "token": "legacy-verification-token",
            "trigger_id": f"{next(self._ids)}.9012.abcabc",
            "view": {
                **view,
                "state": {
                    "values": {
                        "qs_answer": {
                            "qs_answer_text": {"type": "plain_text_input", "value": text}
                        }
                    }
                },
            },
            "response_urls": [],
        }
        return urlencode({"payload": json.dumps(payload)})

    def event_body(self, user: str, text: str) -> str:
        """An Events API ``message.im`` delivery: ``user`` typed ``text`` in the DM.

        Typing in the bot's DM opens that DM, as in Slack: the bot may post there.
        """
        with self.fake._lock:
            self.fake.channels.setdefault(self.fake.dm_channel(user), [user, BOT_USER])
        ts = f"{time.time():.6f}"
        return json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": WORKSPACE,
                "api_app_id": "A0QUICK01",
                "event": {
                    "type": "message",
                    "channel": self.fake.dm_channel(user),
                    "user": user,
                    "text": text,
                    "ts": ts,
                    "event_ts": ts,
                    "channel_type": "im",
                },
                "type": "event_callback",
                "event_id": f"Ev{next(self._ids):08d}",
                "event_time": int(time.time()),
            }
        )

    # -------------------------------------------------------------- sending

    def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        signature: str | None = None,
        retry: int | None = None,
        wait: bool = True,
    ) -> Reply:
        """POST a body to the adapter, signed (unless told otherwise); wait for its work."""
        if self.socket:
            ack = self.fake.send_envelope(_envelope(body, content_type, retry or 0))
            if wait:
                self.wait_idle()
            payload = ack.get("payload")
            return Reply(status=200, body=json.dumps(payload) if payload else "")
        assert self.address is not None
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": signature or sign(body, timestamp=stamp),
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        host, port = self.address
        connection = http.client.HTTPConnection(host, port, timeout=WAIT_S)
        try:
            connection.request("POST", self.path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            reply = Reply(status=response.status, body=response.read().decode())
        finally:
            connection.close()
        if wait:
            self.wait_idle()
        return reply

    def command(self, user: str, text: str) -> Reply:
        """``user`` types ``/quickscan <text>`` in the team channel."""
        return self.post(self.command_body(user, text))

    def click(self, user: str, label: str, *, message: Message | None = None) -> Reply:
        """``user`` presses ``label`` on ``message`` (default: their newest prompt)."""
        shown = message or self.fake.prompt(user)
        return self.post(self.action_body(user, shown, shown.button(label)))

    def type_answer(self, user: str, text: str) -> Reply:
        """``user`` opens the answer modal from their prompt and submits ``text``."""
        opened = len(self.fake.views)
        reply = self.click(user, "Typ je antwoord")
        assert reply.status == 200
        assert len(self.fake.views) == opened + 1, "views.open was not called"
        view = self.fake.views[-1]["view"]
        return self.post(self.view_body(user, view, text))

    def say_in_dm(self, user: str, text: str) -> Reply:
        """``user`` types ``text`` in their DM with the bot (Events API)."""
        return self.post(self.event_body(user, text), content_type="application/json")


def _envelope(body: str, content_type: str, retry: int) -> dict[str, Any]:
    """The Socket Mode envelope Slack would send instead of the HTTP request ``body``."""
    if "json" in content_type:
        kind, payload = "events_api", json.loads(body)
    else:
        form = dict(parse_qsl(body))
        if "payload" in form:
            kind, payload = "interactive", json.loads(form["payload"])
        else:
            kind, payload = "slash_commands", form
    return {
        "envelope_id": "env-" + hashlib.sha256(body.encode()).hexdigest()[:16],
        "type": kind,
        "payload": payload,
        "accepts_response_payload": kind != "events_api",
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
    }
