"""SIGTERM in the middle of a round's fan-out: nothing is lost, nothing is sent twice.

``quickscan run`` serves a 24-member channel. ``/quickscan start`` commits the
round and all 24 invitations to the outbox before Slack gets its ack; the fake
Slack then holds the fourth invitation on the wire while a deploy sends SIGTERM.
The process stops taking events, finishes the sends in flight and exits 0,
leaving the rest in the outbox; after a restart every member has exactly one
invitation (see issue 10: before the outbox, six were never invited).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from storage.delivery.outbox import OutboxStore
from storage.quickscan.store import Store
from tests.fakes.slack import (
    BOT_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    FakeSlack,
    SlackTeam,
    add_school,
    wait_delivered,
    wait_until,
)
from tests.test_slack_process import clean_environment, free_port, quickscan_command, wait_for_port

WAIT_S = 60.0
MEMBERS = [f"lid{number:02d}" for number in range(1, 25)]
SENT_BEFORE_THE_DEPLOY = 3


def start_bot(environ: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            quickscan_command(),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            env={**environ, "SLACK_PORT": str(port)},
        )
    wait_for_port(port, process)
    return process


def port_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def invitations(fake: FakeSlack, ids: list[str]) -> dict[str, int]:
    """Per member: how many messages their DM holds."""
    return {user: len(fake.dm(user)) for user in ids}


def test_sigterm_mid_fan_out_then_restart_invites_everyone_once(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    log = tmp_path / "bot.log"
    with FakeSlack() as fake:
        ids = add_school(fake, MEMBERS)
        environ = {
            **clean_environment(tmp_path),
            "QUICKSCAN_DATABASE_URL": database,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "SLACK_MESSAGES_PER_SECOND": "50",
        }
        # Three invitations arrive; the next ones stay on the wire until released.
        fake.hold("chat.postMessage", after=SENT_BEFORE_THE_DEPLOY, channel_prefix="D")
        port = free_port()
        first = start_bot(environ, port, log)
        try:
            team = SlackTeam(fake=fake, address=("127.0.0.1", port), wait_idle=lambda: None)
            assert team.command(ids[0], "start").status == 200
            wait_until(lambda: fake.held() > 0, what="an invitation in flight", timeout=WAIT_S)

            first.send_signal(signal.SIGTERM)  # a deploy
            wait_until(lambda: port_closed(port), what="intake to stop", timeout=WAIT_S)
            time.sleep(0.3)  # let the dispatcher see the stop before the wire moves again
            in_flight = fake.held()
            fake.release()
            assert first.wait(timeout=WAIT_S) == 0, log.read_text()
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(timeout=WAIT_S)

        delivered = invitations(fake, ids)
        # The sends in flight were finished; the rest waits in the outbox.
        assert SENT_BEFORE_THE_DEPLOY + in_flight <= sum(delivered.values()) < len(MEMBERS)
        assert max(delivered.values()) == 1

        second_port = free_port()
        second = start_bot(environ, second_port, log)
        try:
            wait_until(
                lambda: min(invitations(fake, ids).values()) == 1,
                what="every member's invitation",
                timeout=WAIT_S,
            )
            store = Store.open(url=database)
            try:
                wait_delivered(OutboxStore(engine=store.engine, cipher=store.cipher))
            finally:
                store.close()
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=WAIT_S) == 0, log.read_text()
        finally:
            if second.poll() is None:
                second.kill()
                second.wait(timeout=WAIT_S)

        assert invitations(fake, ids) == dict.fromkeys(ids, 1)
        for user in ids:
            posts = [
                call
                for call in fake.calls_to("chat.postMessage")
                if call.params["channel"] == fake.dm_channel(user)
            ]
            assert [call.status for call in posts] == [200], user
        (announcement,) = fake.messages_in(CHANNEL)
        assert f"{len(MEMBERS)} teamleden" in announcement.body
