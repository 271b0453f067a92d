"""After the run: exactly-once checks from the fakes' records and the database, and rates.

Every message the bot should have sent is counted where the member or team
sees it: one invitation and one "thank you" per member, one edit of the prompt
per click that moves on (55 of the 56 clicks: "versturen" posts the thanks
instead), one callback answer per Telegram click, one announcement, one result
and one chart per team. A lost message shows as a count below, a duplicate as
a count above (or, on Telegram, as an edit refused "not modified").

The rates are read from the fakes' call times: the fakes have no limits of
their own, so what the bot sent is exactly what it paced itself to.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from benchmarks.load_members import INTRO, THANKS
from benchmarks.load_watch import ChatState
from benchmarks.load_world import Team
from storage import db
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

EDITS_PER_MEMBER = 55  # start, 48 answers, 3 grades, 3 skipped open questions
CLICKS_PER_MEMBER = 56  # ... and "versturen"
ANSWERS_PER_MEMBER = 54  # 48 scale answers, 3 grades and the 3 open questions (skipped: empty)
RESULT = "Deelname:"
STORED = "answers stored"
ANNOUNCEMENT = "teamleden krijgen een privébericht"
TELEGRAM_SENDS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument"}
)
SLACK_NEW = frozenset({"chat.postMessage", "files.completeUploadExternal"})


@dataclass(frozen=True, slots=True)
class Check:
    """One exactly-once check: how many were expected and how many were found."""

    name: str
    expected: int
    found: int

    @property
    def ok(self) -> bool:
        """Exactly as many as expected."""
        return self.expected == self.found


def _per_chat(name: str, expected: int, counts: Iterable[int]) -> list[Check]:
    """One check over many chats: the total, and how many chats were off (lost or doubled)."""
    values = list(counts)
    off = sum(1 for value in values if value != expected)
    return [
        Check(f"{name} (total)", expected * len(values), sum(values)),
        Check(f"{name}: chats with too few or too many", 0, off),
    ]


def slack_checks(
    fake: FakeSlack, teams: Sequence[Team], chats: dict[Any, ChatState]
) -> list[Check]:
    """Invitations, edits, thanks per member; announcement, result, chart per team."""
    members = [user for team in teams for user in team.members]
    dms = {str(user): fake.dm_channel(str(user)) for user in members}
    updates = Counter(
        str(call.params.get("channel"))
        for call in fake.calls_to("chat.update")
        if call.status == 200
    )
    checks = _per_chat("Slack invitations", 1, (chats[dms[u]].count(INTRO) for u in dms))
    checks += _per_chat("Slack prompt edits", EDITS_PER_MEMBER, (updates[dms[u]] for u in dms))
    checks += _per_chat("Slack thanks", 1, (chats[dms[u]].count(THANKS) for u in dms))
    charts = Counter(upload.channel for upload in fake.uploads.values() if upload.completed)
    channels = [str(team.chat) for team in teams]
    checks += _per_chat("Slack announcements", 1, (chats[c].count(ANNOUNCEMENT) for c in channels))
    checks += _per_chat("Slack results", 1, (chats[c].count(RESULT) for c in channels))
    checks += _per_chat("Slack result charts", 1, (charts[c] for c in channels))
    limited = sum(1 for call in fake.calls if call.status == 429)
    checks.append(Check("Slack calls answered 429", 0, limited))
    return checks


def telegram_checks(
    fake: FakeTelegram, teams: Sequence[Team], chats: dict[Any, ChatState]
) -> list[Check]:
    """As for Slack, plus one callback answer per click and no refused call at all."""
    members = [int(user) for team in teams for user in team.members]
    edits: Counter[int] = Counter()
    refused = 0
    answered = 0
    photos: Counter[int] = Counter()
    for call in fake.calls:
        if call.error_code is not None and call.method != "setWebhook":
            refused += 1
        elif call.method == "editMessageText" and call.chat_id is not None:
            edits[call.chat_id] += 1
        elif call.method == "answerCallbackQuery":
            answered += 1
        elif call.method == "sendPhoto" and call.chat_id is not None:
            photos[call.chat_id] += 1
    checks = _per_chat("Telegram invitations", 1, (chats[u].count(INTRO) for u in members))
    checks += _per_chat("Telegram prompt edits", EDITS_PER_MEMBER, (edits[u] for u in members))
    checks += _per_chat("Telegram thanks", 1, (chats[u].count(THANKS) for u in members))
    checks.append(Check("Telegram callback answers", CLICKS_PER_MEMBER * len(members), answered))
    groups = [int(team.chat) for team in teams]
    checks += _per_chat(
        "Telegram announcements", 1, (chats[g].count(ANNOUNCEMENT) for g in groups)
    )
    checks += _per_chat("Telegram results", 1, (chats[g].count(RESULT) for g in groups))
    checks += _per_chat("Telegram result charts", 1, (photos[g] for g in groups))
    checks.append(Check("Telegram calls refused (4xx/429)", 0, refused))
    return checks


def database_checks(url: str, *, members: int, teams: int) -> list[Check]:
    """Every participation submitted with all its answers; nothing left in the outbox."""
    engine = db.create_engine_for(url=url)
    try:
        with engine.connect() as connection:
            closed = connection.execute(
                text("SELECT count(*) FROM rounds WHERE closed_at IS NOT NULL")
            ).scalar_one()
            submitted = connection.execute(
                text("SELECT count(*) FROM participations WHERE submitted_at IS NOT NULL")
            ).scalar_one()
            per_member = connection.execute(
                text(
                    "SELECT p.id, count(a.item_id) FROM participations p "
                    "LEFT JOIN answers a ON a.participation_id = p.id GROUP BY p.id"
                )
            ).all()
            outbox: dict[str, int] = dict(
                connection.execute(
                    text("SELECT status, count(*) FROM outbox_messages GROUP BY status")
                ).all()
            )
    finally:
        engine.dispose()
    checks = [
        Check("rounds closed", teams, closed),
        Check("participations submitted", members, submitted),
    ]
    checks += _per_chat(STORED, ANSWERS_PER_MEMBER, (count for _, count in per_member))
    checks.append(Check("outbox rows still pending", 0, outbox.get("pending", 0)))
    checks.append(Check("outbox rows failed for good", 0, outbox.get("failed", 0)))
    return checks


# ------------------------------------------------------------------ rates


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most events in any half-open interval of ``window`` seconds."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass(frozen=True, slots=True)
class Rate:
    """A measured rate next to the configured limit it is paced by."""

    name: str
    measured: float
    limit: float
    unit: str

    @property
    def within(self) -> bool:
        """Whether the measured figure is at or below the limit."""
        return self.measured <= self.limit + 1e-9


def _busiest(times_by_key: dict[Any, list[float]], window: float) -> int:
    return max((max_in_window(times, window) for times in times_by_key.values()), default=0)


def telegram_rates(fake: FakeTelegram, *, groups: set[int]) -> tuple[float, list[Rate]]:
    """Deliveries per second overall (mean), and the limits' windows at their busiest.

    Telegram's limits (about 30 messages a second overall, one a second per
    chat, twenty a minute per group) are judged over windows of their own length:
    the busiest second overall, the busiest second of any private chat, the
    busiest minute of any group.
    """
    sends = [c for c in fake.calls if c.method in TELEGRAM_SENDS]
    times = [c.at for c in sends]
    by_chat: dict[Any, list[float]] = defaultdict(list)
    for call in sends:
        by_chat[call.chat_id].append(call.at)
    private = {chat: t for chat, t in by_chat.items() if chat not in groups}
    in_groups = {chat: t for chat, t in by_chat.items() if chat in groups}
    mean = len(times) / (max(times) - min(times)) if len(times) > 1 else 0.0
    return mean, [
        Rate("Telegram overall, busiest 1 s", max_in_window(times, 1.0), 30, "msgs"),
        Rate("Telegram overall, busiest 10 s / 10", max_in_window(times, 10.0) / 10, 30, "msgs/s"),
        Rate("Telegram one private chat, busiest 1 s", _busiest(private, 1.0), 1, "msgs"),
        Rate("Telegram one group, busiest 60 s", _busiest(in_groups, 60.0), 20, "msgs"),
    ]


def slack_rates(
    fake: FakeSlack, *, messages_per_second: float, update_per_minute: float
) -> tuple[float, list[Rate]]:
    """Slack's deliveries per second (mean), and new messages and chat.update at their busiest."""
    new = [c.at for c in fake.calls if c.method in SLACK_NEW and c.status == 200]
    updates = [c.at for c in fake.calls if c.method == "chat.update" and c.status == 200]
    every = sorted(new + updates)
    by_channel: dict[Any, list[float]] = defaultdict(list)
    for call in fake.calls:
        if call.method in SLACK_NEW | {"chat.update"} and call.status == 200:
            by_channel[call.params.get("channel") or call.params.get("channel_id")].append(call.at)
    mean = len(every) / (every[-1] - every[0]) if len(every) > 1 else 0.0
    return mean, [
        Rate(
            "Slack new messages, busiest 1 s", max_in_window(new, 1.0), messages_per_second, "msgs"
        ),
        Rate(
            "Slack new messages, busiest 10 s / 10",
            max_in_window(new, 10.0) / 10,
            messages_per_second,
            "msgs/s",
        ),
        Rate(
            "Slack chat.update, busiest 60 s",
            max_in_window(updates, 60.0),
            update_per_minute,
            "calls",
        ),
        Rate("Slack one conversation, busiest 1 s", _busiest(by_channel, 1.0), 2, "msgs"),
    ]


def busiest_chat(sends: Sequence[tuple[Any, float, str]], *, platform: str, skip: set[Any]) -> str:
    """The chat with the most sends in one second, and what those sends were (methods)."""
    by_chat: dict[Any, list[tuple[float, str]]] = defaultdict(list)
    for chat, at, method in sends:
        if chat not in skip:
            by_chat[chat].append((at, method))
    best: tuple[int, list[str], Any] = (0, [], None)
    for chat, entries in by_chat.items():
        entries.sort()
        start = 0
        for end in range(len(entries)):
            while entries[end][0] - entries[start][0] >= 1.0:
                start += 1
            if end - start + 1 > best[0]:
                window = entries[start : end + 1]
                gaps = [f"{method}@+{at - window[0][0]:.2f}s" for at, method in window]
                best = (end - start + 1, gaps, chat)
    kind = "private chat/DM" if platform == "Telegram" else "conversation"
    return f"{platform} busiest {kind} second: {best[0]} sends: {', '.join(best[1])}"
