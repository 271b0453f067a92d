"""The school year, complete (issue 12): what the bot says about its planning is what it does.

Each test drives the ``testbot`` with its fake clock (``engine.tick()`` fires what is
due) and reads what members and the channel would see: the planning text names the
days of the planned pings; a school's own holiday dates move an open checklist
round's deadline and every later message names the new day; ``kalender`` shows
the whole year and plans as of ``--clock``; the end of the shipped holiday data is
announced, and a deadline after it is still reminded and closed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.commands.calendar import describe
from bot.commands.planning import describe_planning
from conversations.core.i18n import Catalogue
from conversations.core.messages import DestinationKind, Outbound, Where
from storage.schedule.store import Ping, PingStatus, ScheduleStore
from tests.testbot import TestBot

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = re.compile(r"\b(\d{2})-(\d{2})-(\d{4})\b")
NL = Catalogue("nl")


def move_to(bot: TestBot, moment: datetime) -> None:
    bot.clock.advance(moment - bot.clock.now())


def begin(bot: TestBot, moment: datetime) -> None:
    """The clock at ``moment``; anna set the team up before (she is its coordinator)."""
    move_to(bot, moment)
    bot.store.ensure_team(key=bot.team, founder="anna", now=moment)


def team_says(bot: TestBot, text: str, user: str = "anna") -> list[Outbound]:
    return bot.say(user, text, where=Where.TEAM)


def days_in(text: str) -> list[date]:
    return [date(int(y), int(m), int(d)) for d, m, y in DAY.findall(text)]


def pings(bot: TestBot) -> list[Ping]:
    return ScheduleStore(engine=bot.store.engine).pings(key=bot.team)


def outbox_snapshot(bot: TestBot) -> dict[str, tuple[PingStatus, datetime, str]]:
    """Every ping of the team by id: its status, due moment and arguments."""
    return {
        ping.id: (ping.status, ping.due_at, repr(sorted(ping.args.items()))) for ping in pings(bot)
    }


def ping_days(bot: TestBot, part: str, *, status: PingStatus | None = None) -> list[date]:
    """Due days of the team's planned pings whose id contains ``part``, in order.

    Without ``status``: every ping but the cancelled ones (no longer in the plan).
    """
    return [
        ping.due_at.astimezone(AMSTERDAM).date()
        for ping in pings(bot)
        if part in ping.id
        and (ping.status is status if status else ping.status is not PingStatus.CANCELLED)
    ]


def day_by_day(bot: TestBot, *, until: date) -> list[tuple[date, Outbound]]:
    """Tick at 08:00 school time every day up to ``until``; every message with its day."""
    sent: list[tuple[date, Outbound]] = []
    while True:
        now = bot.clock.now().astimezone(AMSTERDAM)
        next_eight = datetime.combine(now.date(), datetime.min.time(), AMSTERDAM) + timedelta(
            hours=8
        )
        if next_eight <= now:
            next_eight += timedelta(days=1)
        if next_eight.date() > until:
            return sent
        move_to(bot, next_eight)
        sent += [(next_eight.date(), message) for message in bot.engine.tick()]


def channel(messages: list[tuple[date, Outbound]]) -> list[tuple[date, str]]:
    return [(d, m.text) for d, m in messages if m.destination.kind is DestinationKind.TEAM]


def dms(messages: list[tuple[date, Outbound]], user: str) -> list[tuple[date, str]]:
    return [
        (d, m.text)
        for d, m in messages
        if m.destination.kind is DestinationKind.DM and m.destination.user == user
    ]


def private_text(replies: list[Outbound]) -> str:
    assert replies
    assert all(reply.destination.kind is DestinationKind.EPHEMERAL for reply in replies)
    return "\n".join(reply.text for reply in replies)


def line_with(text: str, needle: str) -> str:
    (line,) = [line for line in text.splitlines() if needle in line]
    return line


# --- 1. the planning text states the rule the bot follows ------------------------------------


@pytest.mark.parametrize("reminder_days", [None, 3])
def test_the_planning_text_names_the_days_of_the_planned_pings(
    testbot: TestBot, reminder_days: int | None
) -> None:
    begin(testbot, datetime(2026, 8, 24, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio midden")  # herfst 17-25 Oct 2026, kerst 19 Dec-3 Jan
    if reminder_days is not None:
        changed = team_says(testbot, f"/quickscan planning herinnering_dagen {reminder_days}")
        assert changed[0].destination.kind is DestinationKind.TEAM  # announced: a change
    text = private_text(team_says(testbot, "/quickscan planning", user="bram"))

    expected = reminder_days or 2
    assert f"1 week en {expected} schooldagen voor de deadline" in text
    assert "3 schooldagen en 1 schooldag voor de deadline" in text
    assert "een week en" not in text  # the old text, which round 1 did not follow

    for number in (1, 2):
        line = line_with(text, f"ronde {number} (2026/27)")
        opens, *reminders, deadline, closes = days_in(line)
        prefix = f":2026:checklist:r{number}:"
        assert [opens] == ping_days(testbot, prefix + "open")
        assert reminders == ping_days(testbot, prefix + "remind")
        assert [closes] == ping_days(testbot, prefix + "close")
        (opening,) = [p for p in pings(testbot) if p.id.endswith(prefix + "open")]
        assert deadline.isoformat() == opening.args["deadline"]
        # The rule in words: a week before the deadline, and N school days before it.
        assert reminders[0] == deadline - timedelta(weeks=1)
        assert len(reminders) == 2

    round1 = days_in(line_with(text, "ronde 1 (2026/27)"))
    # Friday 16 October is the last school day before the herfstvakantie; two school days
    # before it is Wednesday 14, three is Tuesday 13.
    assert round1[-2] == date(2026, 10, 16)
    assert round1[2] == (date(2026, 10, 13) if reminder_days == 3 else date(2026, 10, 14))


def test_a_quickscan_deadline_in_the_planning_text_is_the_planned_days(testbot: TestBot) -> None:
    begin(testbot, datetime(2026, 9, 30, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio midden")
    team_says(testbot, "/quickscan start 16-10-2026")
    team_says(testbot, "/quickscan planning herinnering_dagen 3")  # checklist only
    team = testbot.store.get_team(key=testbot.team)
    round_ = testbot.store.current_round(key=testbot.team)
    assert team is not None
    assert round_ is not None
    text = describe_planning(team=team, texts=NL, now=testbot.clock.now(), quickscan=round_)

    *reminders, deadline, closes = days_in(line_with(text, "quickscan (loopt nu)"))
    assert reminders == ping_days(testbot, ":quickscan:")[:-1]
    assert reminders == [date(2026, 10, 13), date(2026, 10, 15)]  # three and one school day
    assert deadline == date(2026, 10, 16)
    assert [closes] == ping_days(testbot, ":quickscan:")[-1:]
    assert closes == date(2026, 10, 26)  # after the midden herfstvakantie


# --- 2. a deadline moves with the school's own holiday dates ---------------------------------


def register_class(bot: TestBot, user: str) -> None:
    bot.say(user, "/quickscan checklist", where=Where.TEAM)
    for line in ("/checklist klas", "AB1", "CD2", "klaar"):
        bot.say(user, line)


def test_own_holiday_dates_after_round_1_opened_move_its_deadline_everywhere(
    testbot: TestBot,
) -> None:
    begin(testbot, datetime(2026, 8, 24, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio midden")  # herfst 17-25 October: deadline Fri 16-10
    register_class(testbot, "bram")
    opened = day_by_day(testbot, until=date(2026, 9, 28))
    assert any("16-10-2026" in text for _d, text in channel(opened))  # round 1 is open

    moved = team_says(testbot, "/quickscan vakantie herfst 2026-10-10 2026-10-18")
    notices = [m.text for m in moved if m.destination.kind is DestinationKind.TEAM]
    assert any("is nu vr 09-10-2026" in text for text in notices), notices
    assert ping_days(testbot, ":2026:checklist:r1:remind", status=PingStatus.PENDING) == [
        date(2026, 10, 2),  # a week before the new deadline
        date(2026, 10, 7),  # two school days before it
    ]

    later = day_by_day(testbot, until=date(2026, 10, 8))
    status = team_says(testbot, "/quickscan checklist status")
    later += [(date(2026, 10, 8), message) for message in status]
    later += day_by_day(testbot, until=date(2026, 10, 20))

    reminders = [text for _d, text in dms(later, "bram") if "Herinnering" in text]
    assert len(reminders) == 2
    # The day as the notice writes it, with its weekday, in the reminders and the status.
    assert all("Deadline: vr 09-10-2026." in text for text in reminders)
    assert any("Deadline: vr 09-10-2026." in m.text for m in status)
    assert any("09-10-2026" in m.text for m in status)
    closes = [d for d, text in channel(later) if "teamtotalen ronde 1" in text]
    assert closes == [date(2026, 10, 19)]  # the first school day after the school's herfst
    everything = "\n".join(m.text for _d, m in later) + "\n".join(notices)
    assert "16-10-2026" not in everything


def _own_round(testbot: TestBot) -> None:
    """Round 1 opened by the coordinator on 15-09 with deadline 06-11 (midden)."""
    begin(testbot, datetime(2026, 8, 24, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio midden")  # the schedule: round 1 closes on 26-10
    register_class(testbot, "bram")
    move_to(testbot, datetime(2026, 9, 15, 9, tzinfo=AMSTERDAM))
    opened = team_says(testbot, "/quickscan checklist start 1 06-11-2026")
    assert any("Deadline: vr 06-11-2026." in m.text for m in opened)


def test_a_coordinators_own_round_keeps_its_own_deadline(testbot: TestBot) -> None:
    _own_round(testbot)
    messages = day_by_day(testbot, until=date(2026, 11, 10))

    # Not closed by the schedule's round 1 on 26-10, eleven days before its own
    # deadline, nor reminded by it; its own deadline is kept like the bot's:
    # reminders one week and two school days before it, closed the school day after.
    reminded = [d for d, text in dms(messages, "bram") if "Herinnering" in text]
    assert reminded == [date(2026, 10, 30), date(2026, 11, 4)]
    assert all("06-11-2026" in text for _d, text in dms(messages, "bram") if "Herinnering" in text)
    closes = [d for d, text in channel(messages) if "teamtotalen ronde 1" in text]
    assert closes == [date(2026, 11, 9)]


def test_a_coordinator_may_still_close_their_own_round_early(testbot: TestBot) -> None:
    _own_round(testbot)
    messages = day_by_day(testbot, until=date(2026, 10, 29))
    assert not [text for _d, text in channel(messages) if "teamtotalen" in text]
    assert not [text for _d, text in dms(messages, "bram") if "Herinnering" in text]
    status = team_says(testbot, "/quickscan checklist status")
    assert any("ronde 1 (2026/27)" in m.text and "06-11-2026" in m.text for m in status)
    closed = team_says(testbot, "/quickscan checklist sluit")  # the coordinator closes it
    assert any("teamtotalen ronde 1" in m.text for m in closed)
    later = day_by_day(testbot, until=date(2026, 11, 10))  # nothing planned is left of it
    assert not [text for _d, text in channel(later) if "teamtotalen" in text]
    assert not [text for _d, text in dms(later, "bram") if "Herinnering" in text]


def test_a_planning_change_names_the_running_rounds_as_planning_does(testbot: TestBot) -> None:
    begin(testbot, datetime(2026, 8, 24, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio midden")
    day_by_day(testbot, until=date(2026, 9, 29))  # the bot opened round 1 on 28-09
    team_says(testbot, "/quickscan start 16-10-2026")

    changed = team_says(testbot, "/quickscan planning herinnering_dagen 3")
    shown = private_text(team_says(testbot, "/quickscan planning", user="bram"))

    (post,) = [m.text for m in changed if m.destination.kind is DestinationKind.TEAM]
    assert "ronde 1 (2026/27): opent ma 28-09-2026" in post
    assert "quickscan (loopt nu)" in post
    assert line_with(post, "ronde 1 (2026/27)") == line_with(shown, "ronde 1 (2026/27)")
    assert line_with(post, "quickscan (loopt nu)") == line_with(shown, "quickscan (loopt nu)")


def test_a_quickscan_deadline_follows_the_schools_new_holiday(testbot: TestBot) -> None:
    begin(testbot, datetime(2026, 10, 1, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio midden")  # herfst 17-25 October
    team_says(testbot, "/quickscan start 20-10-2026")  # inside the herfstvakantie
    assert ping_days(testbot, ":quickscan:") == [
        date(2026, 10, 14),
        date(2026, 10, 16),
        date(2026, 10, 26),
    ]
    # The school moves its herfstvakantie a week later: 20 October is a school day now.
    team_says(testbot, "/quickscan vakantie herfst 2026-10-24 2026-11-01")
    messages = day_by_day(testbot, until=date(2026, 10, 22))

    reminders = [(d, text) for d, text in dms(messages, "bram") if "Herinnering" in text]
    assert [d for d, _text in reminders] == [date(2026, 10, 15), date(2026, 10, 19)]
    assert all("di 20-10-2026" in text and "wo 21-10-2026" in text for _d, text in reminders)
    closed = [d for d, text in channel(messages) if "automatisch gesloten" in text]
    assert closed == [date(2026, 10, 21)]
    assert testbot.store.current_round(key=testbot.team) is None


# --- 3. kalender: the whole school year, paged, and as of --clock ----------------------------


def test_kalender_shows_the_whole_school_year_by_month(testbot: TestBot) -> None:
    begin(testbot, datetime(2026, 8, 24, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio midden")
    text = private_text(team_says(testbot, "/quickscan kalender", user="bram"))
    ping_lines = [line for line in text.splitlines() if line.startswith("• ") and ": " in line]
    planned = [p for p in pings(testbot) if p.status is PingStatus.PENDING]
    assert len(planned) > 8  # more than the old overview showed
    for ping in planned:
        if ping.due_at.astimezone(AMSTERDAM).date() < date(2028, 8, 1):
            shown = ping.due_at.astimezone(AMSTERDAM).strftime("%d-%m-%Y")
            assert any(shown in line for line in ping_lines), ping.id
    assert "*januari 2027*" in text
    assert "*oktober 2026*" in text
    assert "di 26-01-2027: checklist oudercontact: ronde sluit" in text  # round 2's close
    assert "Vanaf" not in text  # the holiday data lasts beyond next school year


def test_a_long_overview_is_split_at_lines_within_the_limit(testbot: TestBot) -> None:
    begin(testbot, datetime(2026, 8, 24, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio zuid")
    team = testbot.store.get_team(key=testbot.team)
    assert team is not None
    whole = describe(team=team, pings=pings(testbot), now=testbot.clock.now(), texts=NL)
    parts = describe(team=team, pings=pings(testbot), now=testbot.clock.now(), texts=NL, limit=400)
    assert len(whole) == 1
    assert len(parts) > 2
    assert all(len(part) <= 400 for part in parts)
    assert "\n".join(parts).splitlines() == whole[0].splitlines()


def test_kalender_on_the_command_line_plans_as_of_its_clock(
    testbot: TestBot, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.startup.cli import main

    begin(testbot, datetime(2026, 8, 24, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio midden")
    url = testbot.store.engine.url.render_as_string(hide_password=False)
    before = outbox_snapshot(testbot)
    assert main(["kalender", "--database", url, "--clock", "2026-12-01T09:00"]) == 0
    printed = capsys.readouterr().out
    ping_lines = [
        line for line in printed.splitlines() if line.startswith("• ") and "t/m" not in line
    ]
    assert ping_lines
    assert not [line for line in ping_lines if re.search(r"-(09|10|11)-2026", line)]
    assert "ma 14-12-2026: checklist oudercontact: aankondiging ronde 2" in printed
    assert "ma 04-01-2027: checklist oudercontact: ronde opent" in printed
    assert "di 26-01-2027: checklist oudercontact: ronde sluit" in printed
    # The outbox itself is untouched by a look at the calendar: every ping as it was.
    assert outbox_snapshot(testbot) == before
    assert any(":2026:checklist:r1:open" in ping_id for ping_id in before)


def test_kalender_marks_sent_pings_and_never_lists_them_to_come(testbot: TestBot) -> None:
    begin(testbot, datetime(2026, 8, 24, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio midden")
    day_by_day(testbot, until=date(2026, 10, 1))
    text = private_text(team_says(testbot, "/quickscan kalender", user="bram"))
    assert "ma 28-09-2026: checklist oudercontact: ronde opent (verstuurd)" in text
    assert "vr 09-10-2026: checklist oudercontact: herinnering" in text
    assert "(verstuurd)" not in line_with(text, "09-10-2026")


# --- 4. the end of the shipped holiday data ---------------------------------------------------


@pytest.mark.parametrize(
    ("region", "reminded", "closes"),
    [
        ("noord", [date(2030, 7, 9), date(2030, 7, 11)], date(2030, 7, 15)),
        # The summer holiday ends the data: the close is the first weekday after it.
        ("midden", [date(2030, 7, 9), date(2030, 7, 11)], date(2030, 8, 26)),
        ("zuid", [date(2030, 7, 3), date(2030, 7, 5)], date(2030, 8, 19)),
    ],
)
def test_a_deadline_at_the_end_of_the_data_is_reminded_and_auto_closed(
    testbot: TestBot, region: str, reminded: list[date], closes: date
) -> None:
    begin(testbot, datetime(2030, 6, 20, 9, tzinfo=AMSTERDAM))
    team_says(testbot, f"/quickscan regio {region}")
    started = team_says(testbot, "/quickscan start 12-07-2030")
    assert any("12-07-2030" in m.text for m in started)
    messages = day_by_day(testbot, until=closes + timedelta(days=2))

    reminders = [(d, text) for d, text in dms(messages, "bram") if "Herinnering" in text]
    assert [d for d, _text in reminders] == reminded
    assert all(
        "vr 12-07-2030" in text and closes.strftime("%d-%m-%Y") in text for _d, text in reminders
    )
    auto = [d for d, text in channel(messages) if "automatisch gesloten" in text]
    assert auto == [closes]
    results = [text for d, text in channel(messages) if d == closes]
    assert len(results) >= 2  # the notice and the result post
    assert testbot.store.current_round(key=testbot.team) is None


def test_the_team_is_warned_once_before_the_data_ends(testbot: TestBot) -> None:
    begin(testbot, datetime(2030, 6, 3, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio noord")  # the data ends with the summer, 01-09-2030
    messages = day_by_day(testbot, until=date(2030, 9, 10))
    warnings = [(d, text) for d, text in channel(messages) if "01-09-2030" in text]
    # A month before the end is in the summer holiday: the last school day before it.
    assert [d for d, _text in warnings] == [date(2030, 7, 19)]
    text = warnings[0][1]
    assert "Vanaf ma 02-09-2030" in text
    assert "/quickscan vakantie" in text
    assert "werk de bot bij" in text
    assert all(m.destination.kind is not DestinationKind.EPHEMERAL for _d, m in messages)


def data_warnings(messages: list[tuple[date, Outbound]]) -> list[date]:
    return [d for d, text in channel(messages) if "de schoolvakanties die de bot kent" in text]


def test_a_region_changed_after_the_warning_brings_no_second_one(testbot: TestBot) -> None:
    begin(testbot, datetime(2030, 6, 3, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio zuid")  # its data ends 18-08-2030
    messages = day_by_day(testbot, until=date(2030, 7, 15))
    assert data_warnings(messages) == [date(2030, 7, 5)]  # the last school day before summer

    team_says(testbot, "/quickscan regio noord")  # ends 01-09-2030: warned on 19-07 otherwise
    later = day_by_day(testbot, until=date(2030, 9, 10))

    assert data_warnings(later) == []


def test_a_region_named_after_the_warning_day_is_warned_late_once(testbot: TestBot) -> None:
    begin(testbot, datetime(2030, 7, 25, 9, tzinfo=AMSTERDAM))  # noord warns on 19-07
    team_says(testbot, "/quickscan regio noord")
    messages = day_by_day(testbot, until=date(2030, 9, 10))
    assert data_warnings(messages) == [date(2030, 7, 26)]  # the first tick after it


def test_kalender_says_from_when_the_holiday_data_is_missing(testbot: TestBot) -> None:
    begin(testbot, datetime(2030, 6, 20, 9, tzinfo=AMSTERDAM))
    team_says(testbot, "/quickscan regio zuid")
    text = private_text(team_says(testbot, "/quickscan kalender", user="bram"))
    assert "tot en met zo 18-08-2030" in text
    assert "Vanaf ma 19-08-2030 ontbreken ze" in text
    assert "waarschuwing: de vakantiedata van de bot lopen af" in text  # the planned warning
    english = team_says(testbot, "/quickscan taal en")
    assert english
    text = private_text(team_says(testbot, "/quickscan kalender", user="bram"))
    assert "From Mon 19-08-2030 it is missing" in text
