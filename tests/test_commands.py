"""The command grammar and registry: text in, engine command (or Query, or CommandError) out."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.grammar import CommandError, ParsedCommand, parse_command
from bot.commands.registry import (
    CHAT,
    COMMANDS,
    MAIL,
    STATUS_WORDS,
    Built,
    CommandContext,
    Query,
    build_command,
    canonical_name,
)
from bot.i18n import CATALOG, status_name
from engine import commands as c
from engine.model import Status

ACTOR = 1
IVAN, OLGA = 7, 8
BOT = "ticketbot"
MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 5, 13, 10, 0, tzinfo=MSK)  # a Wednesday
PEOPLE = {"@ivan": IVAN, "ivan@example.com": IVAN, "@olga": OLGA}


def context(ticket: int | None = None, channel: str = CHAT) -> CommandContext:
    return CommandContext(actor=ACTOR, channel=channel, at=NOW, tz=MSK,
                          resolve_person=PEOPLE.get, context_ticket=ticket)


def run(text: str, ticket: int | None = None, channel: str = CHAT) -> Built:
    parsed = parse_command(text, bot_username=BOT if channel == CHAT else None)
    assert parsed is not None, text
    if isinstance(parsed, CommandError):
        return parsed
    return build_command(parsed, context(ticket, channel))


def msk(month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=MSK)


def take(n: int) -> c.Take:
    return c.Take(actor=ACTOR, channel=CHAT, at=NOW, ticket=n)


def status(n: int, new: Status, until: dt.datetime | None = None, text: str = "") -> c.SetStatus:
    return c.SetStatus(actor=ACTOR, channel=CHAT, at=NOW, ticket=n, status=new, until=until,
                       text=text)


def waiting(n: int, until: dt.datetime, text: str = "") -> c.SetStatus:
    return status(n, Status.WAITING, until, text)


def close(n: int, text: str = "") -> c.Close:
    return c.Close(actor=ACTOR, channel=CHAT, at=NOW, ticket=n, text=text)


def assign(n: int, person: int | None) -> c.Assign:
    return c.Assign(actor=ACTOR, channel=CHAT, at=NOW, ticket=n, person_id=person)


def priority(n: int, level: str) -> c.SetPriority:
    return c.SetPriority(actor=ACTOR, channel=CHAT, at=NOW, ticket=n, priority=level)


def comment(n: int, body: str, *, public: bool) -> c.AddComment:
    return c.AddComment(actor=ACTOR, channel=CHAT, at=NOW, ticket=n, body=body, public=public)


def opened(subject: str, description: str) -> c.OpenTicket:
    return c.OpenTicket(actor=ACTOR, channel=CHAT, at=NOW, subject=subject,
                        description=description, requester_id=ACTOR)


# --- grammar -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "", "   ", "hello", "#12 the printer again", "please /take 12", "/", "/ take 12",
    "/etc/hosts is broken", "/5 apples", "//take 12", "/take@otherbot 12", "/TAKE@OtherBot",
    "/frobnicate@otherbot", "/take@ 12",
])
def test_not_a_command_or_not_ours(text: str) -> None:
    assert parse_command(text, bot_username=BOT) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("/take", ParsedCommand("take")),
    ("/take 12", ParsedCommand("take", ("12",), "12")),
    ("/take@ticketbot #12", ParsedCommand("take", ("#12",), "#12", "ticketbot")),
    ("/TAKE@TicketBot #12", ParsedCommand("take", ("#12",), "#12", "TicketBot")),
    ("  /Close 12  fixed   it  ", ParsedCommand("close", ("12", "fixed", "it"), "12  fixed   it")),
    ("/close 12 fixed\nthe printer\n", ParsedCommand("close", ("12", "fixed"), "12 fixed\nthe printer")),
    ("/close\nfixed the printer", ParsedCommand("close", (), "fixed the printer")),
    ("/take\tfoo", ParsedCommand("take", ("foo",), "foo")),
    ("/взять 12", ParsedCommand("take", ("12",), "12")),
    ("/ВЗЯТЬ 12", ParsedCommand("take", ("12",), "12")),
    ("/закрыть 12 готово", ParsedCommand("close", ("12", "готово"), "12 готово")),
    ("/статус@ticketbot", ParsedCommand("status", (), "", "ticketbot")),
])
def test_parse_shape(text: str, expected: ParsedCommand) -> None:
    assert parse_command(text, bot_username=BOT) == expected


@pytest.mark.parametrize("bot_username", ["ticketbot", "@ticketbot", "TicketBot", "@TICKETBOT"])
def test_own_mention_in_any_letter_case(bot_username: str) -> None:
    assert parse_command("/take@TicketBot 12", bot_username=bot_username) == ParsedCommand(
        "take", ("12",), "12", "TicketBot")


def test_mail_has_no_bot_to_address_so_a_mention_is_not_checked() -> None:
    assert parse_command("/take@otherbot 12", bot_username=None) == ParsedCommand(
        "take", ("12",), "12", "otherbot")


@pytest.mark.parametrize(("text", "typed"), [
    ("/frobnicate", "frobnicate"),
    ("/Frobnicate@ticketbot 12", "frobnicate"),
    ("/взятьь 12", "взятьь"),
])
def test_unknown_command(text: str, typed: str) -> None:
    assert parse_command(text, bot_username=BOT) == CommandError(
        "unknown_command", {"command": typed})


# --- building engine commands --------------------------------------------------------------

BUILDS: list[tuple[str, int | None, Built]] = [
    # take [N]
    ("/take 12", None, take(12)),
    ("/take #12", None, take(12)),
    ("/take", 5, take(5)),
    ("/take 12", 5, take(12)),
    ("/take #12", 5, take(12)),
    ("/take@ticketbot 12", None, take(12)),
    ("/TAKE@TicketBot #12", None, take(12)),
    ("/взять 12", None, take(12)),
    ("/беру", 5, take(5)),
    ("/take 12 please", None, take(12)),
    ("/take\nI'll look at it", 5, take(5)),
    # status [N]: show
    ("/status 12", None, Query("status", 12)),
    ("/status #12", 5, Query("status", 12)),
    ("/status", 5, Query("status", 5)),
    ("/статус #7", None, Query("status", 7)),
    ("/status 12\nany news?", None, Query("status", 12)),
    # status [N] status [until] [text]
    ("/status 12 in_progress", None, status(12, Status.IN_PROGRESS)),
    ("/status 12 in-progress", None, status(12, Status.IN_PROGRESS)),
    ("/status 12 in progress", None, status(12, Status.IN_PROGRESS)),
    ("/status 12 work", None, status(12, Status.IN_PROGRESS)),
    ("/status 12 в работе", None, status(12, Status.IN_PROGRESS)),
    ("/status В РАБОТЕ", 5, status(5, Status.IN_PROGRESS)),
    ("/status open", 5, status(5, Status.OPEN)),
    ("/статус 12 открыт", None, status(12, Status.OPEN)),
    ("/status 12 Resolved", None, status(12, Status.RESOLVED)),
    ("/status 12 решен", None, status(12, Status.RESOLVED)),
    ("/status 12 решена", None, status(12, Status.RESOLVED)),
    ("/status 12 решён", None, status(12, Status.RESOLVED)),
    ("/status 12 resolved replaced the cartridge", None,
     status(12, Status.RESOLVED, text="replaced the cartridge")),
    ("/status 12 closed", None, status(12, Status.CLOSED)),
    ("/status #12 закрыт", None, status(12, Status.CLOSED)),
    ("/status 12 waiting 2026-12-01", None, waiting(12, msk(12, 1))),
    ("/status 12 wait 2026-12-01 15:00 waiting for parts", None,
     waiting(12, msk(12, 1, 15), "waiting for parts")),
    ("/status 12 waiting +3d", None, waiting(12, msk(5, 16, 10))),
    ("/status ожидание завтра", 5, waiting(5, msk(5, 14))),
    ("/status 12 waiting 01.12.2026 15:00\nPlease send the invoice.", None,
     waiting(12, msk(12, 1, 15), "Please send the invoice.")),
    # close [N] [text]
    ("/close 12", None, close(12)),
    ("/close", 5, close(5)),
    ("/close 12 fixed the printer", None, close(12, "fixed the printer")),
    ("/close fixed the printer", 5, close(5, "fixed the printer")),
    ("/close\nfixed the printer", 5, close(5, "fixed the printer")),
    ("/close 12\nfixed it\n\nRegards, Sam", None, close(12, "fixed it\n\nRegards, Sam")),
    ("/закрыть #12 готово", None, close(12, "готово")),
    # resolve [N] [text]
    ("/resolve 12", None, status(12, Status.RESOLVED)),
    ("/resolve", 5, status(5, Status.RESOLVED)),
    ("/resolve new cartridge", 5, status(5, Status.RESOLVED, text="new cartridge")),
    ("/решить 12 заменили картридж", None,
     status(12, Status.RESOLVED, text="заменили картридж")),
    # reopen [N]
    ("/reopen 12", None, status(12, Status.OPEN)),
    ("/reopen", 5, status(5, Status.OPEN)),
    ("/переоткрыть #3", None, status(3, Status.OPEN)),
    # wait N until [text]
    ("/wait 12 2026-12-01", None, waiting(12, msk(12, 1))),
    ("/wait 12 01.12.2026 15:00", None, waiting(12, msk(12, 1, 15))),
    ("/wait #12 tomorrow 10:00", None, waiting(12, msk(5, 14, 10))),
    ("/wait 15:00", 5, waiting(5, msk(5, 13, 15))),
    ("/wait 12 +3d asked for the invoice", None, waiting(12, msk(5, 16, 10), "asked for the invoice")),
    ("/wait 12 +4h", None, waiting(12, msk(5, 13, 14))),
    ("/ждать 12 пн", None, waiting(12, msk(5, 18))),
    ("/ожидание завтра 12:00 ждём ответа", 5, waiting(5, msk(5, 14, 12), "ждём ответа")),
    # assign N @user
    ("/assign 12 @ivan", None, assign(12, IVAN)),
    ("/assign @olga", 5, assign(5, OLGA)),
    ("/assign 12 ivan@example.com", None, assign(12, IVAN)),
    ("/assign 12 me", None, assign(12, ACTOR)),
    ("/назначить 12 мне", None, assign(12, ACTOR)),
    ("/assign 12 none", None, assign(12, None)),
    ("/assign 12 -", None, assign(12, None)),
    # priority N level
    ("/priority 12 high", None, priority(12, "high")),
    ("/priority urgent", 5, priority(5, "urgent")),
    ("/priority 12 HIGH", None, priority(12, "high")),
    ("/priority 12 Critical", None, priority(12, "urgent")),
    ("/priority 12 medium", None, priority(12, "normal")),
    ("/приоритет 12 высокий", None, priority(12, "high")),
    ("/приоритет низкий", 5, priority(5, "low")),
    ("/priority 12 blocker", None, priority(12, "blocker")),  # the engine checks the list
    # note N text / reply N text
    ("/note 12 called the client", None, comment(12, "called the client", public=False)),
    ("/note checked the logs", 5, comment(5, "checked the logs", public=False)),
    ("/note 12 line one\nline two", None, comment(12, "line one\nline two", public=False)),
    ("/заметка 12 позвонил клиенту", None, comment(12, "позвонил клиенту", public=False)),
    ("/reply 12 Please restart the printer.", None,
     comment(12, "Please restart the printer.", public=True)),
    ("/reply Try again now", 5, comment(5, "Try again now", public=True)),
    ("/ответ #12 Готово", None, comment(12, "Готово", public=True)),
    # new text
    ("/new Printer jams", None, opened("Printer jams", "Printer jams")),
    ("/new Printer jams\non floor 3", None, opened("Printer jams", "Printer jams\non floor 3")),
    ("/новая Не печатает принтер", 5, opened("Не печатает принтер", "Не печатает принтер")),
    ("/new " + "x" * 100, None, opened("x" * 80, "x" * 100)),
    # read-only queries
    ("/my", None, Query("my")),
    ("/мои", 5, Query("my")),
    ("/queue", None, Query("queue", None, ("unassigned",))),
    ("/очередь", None, Query("queue", None, ("unassigned",))),
    ("/stats", None, Query("stats")),
    ("/stats 2026-04", None, Query("stats", None, ("2026-04",))),
    ("/статистика 2025-12", None, Query("stats", None, ("2025-12",))),
    ("/help", None, Query("help")),
    ("/помощь", None, Query("help")),
    ("/start", None, Query("start")),
    ("/start ref123", None, Query("start", None, ("ref123",))),
    ("/ticket", None, Query("ticket")),
    ("/ticket", 5, Query("ticket", 5)),
    ("/заявка", None, Query("ticket")),
]


@pytest.mark.parametrize(("text", "ticket", "expected"), BUILDS)
def test_builds(text: str, ticket: int | None, expected: Built) -> None:
    assert run(text, ticket) == expected


ERRORS: list[tuple[str, int | None, str, dict[str, str]]] = [
    # no number and nothing replied to
    ("/take", None, "missing_ticket", {"command": "take"}),
    ("/status", None, "missing_ticket", {"command": "status"}),
    ("/status resolved", None, "missing_ticket", {"command": "status"}),
    ("/close fixed it", None, "missing_ticket", {"command": "close"}),
    ("/resolve", None, "missing_ticket", {"command": "resolve"}),
    ("/reopen", None, "missing_ticket", {"command": "reopen"}),
    ("/wait tomorrow", None, "missing_ticket", {"command": "wait"}),
    ("/assign @ivan", None, "missing_ticket", {"command": "assign"}),
    ("/priority high", None, "missing_ticket", {"command": "priority"}),
    ("/note checked", None, "missing_ticket", {"command": "note"}),
    ("/reply hi", None, "missing_ticket", {"command": "reply"}),
    ("/взять", None, "missing_ticket", {"command": "take"}),
    # bad numbers
    ("/take abc", None, "bad_number", {"value": "abc"}),
    ("/take abc", 5, "bad_number", {"value": "abc"}),
    ("/take #abc", None, "bad_number", {"value": "#abc"}),
    ("/take #", 5, "bad_number", {"value": "#"}),
    ("/take 0", None, "bad_number", {"value": "0"}),
    ("/take #0", 5, "bad_number", {"value": "#0"}),
    ("/take -5", 5, "bad_number", {"value": "-5"}),
    ("/take 99999999999999999999999", None, "bad_number", {"value": "99999999999999999999999"}),
    ("/reopen twelve", 5, "bad_number", {"value": "twelve"}),
    ("/close #12a fixed", None, "bad_number", {"value": "#12a"}),
    ("/status #x", 5, "bad_number", {"value": "#x"}),
    ("/note #twelve text", 5, "bad_number", {"value": "#twelve"}),
    # statuses
    ("/status 12 foo", None, "unknown_status", {"value": "foo"}),
    ("/status almost done", 5, "unknown_status", {"value": "almost"}),
    ("/status 12 в", None, "unknown_status", {"value": "в"}),
    # until-times
    ("/wait 12", None, "missing_until", {}),
    ("/wait", 5, "missing_until", {}),
    ("/status 12 waiting", None, "missing_until", {}),
    ("/status ожидание", 5, "missing_until", {}),
    ("/wait 12 someday", None, "bad_date", {"value": "someday"}),
    ("/wait 12 25:00", None, "bad_date", {"value": "25:00"}),
    ("/status 12 waiting 32.13.2026", None, "bad_date", {"value": "32.13.2026"}),
    ("/wait 12 2026-01-01", None, "date_in_past", {"value": "2026-01-01"}),
    ("/wait 12 today 09:00 ok", None, "date_in_past", {"value": "today 09:00"}),
    # text
    ("/note 12", None, "missing_text", {}),
    ("/note", 5, "missing_text", {}),
    ("/reply #12   ", None, "missing_text", {}),
    ("/reply", 5, "missing_text", {}),
    ("/new", None, "missing_text", {}),
    ("/new   \n  ", None, "missing_text", {}),
    # people and priorities
    ("/assign 12", None, "missing_person", {}),
    ("/assign", 5, "missing_person", {}),
    ("/assign 12 @nobody", None, "unknown_person", {"who": "@nobody"}),
    ("/assign stranger@else.test", 5, "unknown_person", {"who": "stranger@else.test"}),
    ("/priority 12", None, "missing_priority", {}),
    ("/priority", 5, "missing_priority", {}),
    # periods
    ("/stats 2026-13", None, "bad_period", {"value": "2026-13"}),
    ("/stats 2026-5", None, "bad_period", {"value": "2026-5"}),
    ("/stats may", None, "bad_period", {"value": "may"}),
    # names
    ("/frobnicate 12", 5, "unknown_command", {"command": "frobnicate"}),
]


@pytest.mark.parametrize(("text", "ticket", "key", "params"), ERRORS)
def test_errors(text: str, ticket: int | None, key: str, params: dict[str, str]) -> None:
    assert run(text, ticket) == CommandError(key, params)


@pytest.mark.parametrize("lang", sorted(CATALOG))
@pytest.mark.parametrize("new", list(Status))
def test_the_status_names_we_print_are_understood_back(lang: str, new: Status) -> None:
    result = run(f"/status 12 {status_name(lang, new)} 2026-12-01 15:00")
    assert isinstance(result, c.SetStatus) and result.status is new


def test_every_status_word_is_normalised() -> None:
    assert all(word == word.lower().replace("ё", "е") for word in STATUS_WORDS)
    assert all("-" not in word and "_" not in word for word in STATUS_WORDS)


@pytest.mark.parametrize("text", ["/ticket", "/start", "/заявка"])
def test_chat_only_commands_refused_by_mail(text: str) -> None:
    result = run(text, 5, channel=MAIL)
    assert isinstance(result, CommandError) and result.key == "chat_only"


def test_mail_builds_the_same_commands_on_the_email_channel() -> None:
    assert run("/close\nfixed the printer\n\nSam", 5, channel=MAIL) == c.Close(
        actor=ACTOR, channel=MAIL, at=NOW, ticket=5, text="fixed the printer\n\nSam")
    assert run("/status waiting 2026-12-01", 5, channel=MAIL) == c.SetStatus(
        actor=ACTOR, channel=MAIL, at=NOW, ticket=5, status=Status.WAITING, until=msk(12, 1))


def test_build_refuses_a_name_it_does_not_know() -> None:
    assert build_command(ParsedCommand("frobnicate"), context()) == CommandError(
        "unknown_command", {"command": "frobnicate"})


# --- the registry itself -------------------------------------------------------------------

REQUIRED = ("take", "status", "close", "resolve", "reopen", "wait", "assign", "priority",
            "note", "reply", "my", "queue", "stats", "ticket", "new", "help", "start",
            "rescue",  # issue 10: an ignored mail becomes a ticket
            "undo",
            # issue 14: the ticket fields (bot/commands/fields.py)
            "type", "tag", "observe", "unobserve", "cc", "due", "spent",
            "move",  # issue 14: a ticket goes to another desk
            "company", "contact", "tickets", "link", "requester",  # F11 directories
            "find", "merge", "answer", "answers")  # issue 14: finding things


def test_registry_has_every_command_of_f6() -> None:
    assert set(COMMANDS) == set(REQUIRED)


@pytest.mark.parametrize("name", REQUIRED)
def test_every_name_and_alias_reaches_its_command(name: str) -> None:
    spec = COMMANDS[name]
    assert spec.name == name
    for typed in (name, *spec.aliases):
        assert typed == typed.lower()
        assert canonical_name(typed.upper()) == name
        parsed = parse_command(f"/{typed}", bot_username=BOT)
        assert isinstance(parsed, ParsedCommand) and parsed.name == name


@pytest.mark.parametrize("name", REQUIRED)
def test_every_command_has_usage_and_a_summary_in_both_languages(name: str) -> None:
    spec = COMMANDS[name]
    assert spec.usage.startswith(f"/{name}")
    assert set(spec.summary) == {"en", "ru"} and all(spec.summary.values())


def test_staff_only_commands() -> None:
    open_to_all = {n for n, s in COMMANDS.items() if not s.staff_only}
    assert open_to_all == {"status", "new", "my", "help", "start", "find"}


ARGS = ["", "12", "#12", "abc", "#", "0", "12 foo bar", "12 waiting", "12 waiting soon",
        "12 @ivan", "\n\n", "#99999999999999999999999999", "12 в работе", "+3d", "-"]


@pytest.mark.parametrize("args", ARGS)
@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("ticket", [None, 5])
def test_build_never_raises(name: str, args: str, ticket: int | None) -> None:
    result = run(f"/{name} {args}", ticket)
    assert isinstance(result, c.Command | Query | CommandError)


@given(st.text(max_size=60))
def test_any_text_parses_and_builds_without_raising(text: str) -> None:
    for line in (text, "/" + text, "/status " + text, "/wait 1 " + text):
        parsed = parse_command(line, bot_username=BOT)
        assert parsed is None or isinstance(parsed, ParsedCommand | CommandError)
        if isinstance(parsed, ParsedCommand):
            built = build_command(parsed, context(5))
            assert isinstance(built, c.Command | Query | CommandError)
