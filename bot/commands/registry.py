"""Every bot command, listed explicitly: its names, usage, help text and how it becomes an
engine command (or a read-only Query the channel answers itself).

Builders never raise on bad input: they return a CommandError whose `key` is an i18n key and
whose `params` fill its placeholders. Roles are not checked here (the engine does, F3);
`staff_only` only lets a channel answer a client early and keeps /help short for them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.commands import directory
from bot.commands.dates import parse_until
from engine import commands as c
from engine.model import Status

if TYPE_CHECKING:  # grammar imports this module for the names; the type is all we need back
    from bot.commands.grammar import ParsedCommand

CHAT = "telegram"
MAIL = "email"

# Ticket numbers are stored as SQL integers; a longer run of digits is a typo, not a ticket.
_MAX_TICKET = 2**63 - 1
_NUMBER = re.compile(r"#?(\d+)")
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class CommandError:
    key: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    """A read-only command (my, queue, stats, help, start, ticket, status shown) that the
    channel answers from the store itself, without going through the bus."""

    name: str
    ticket: int | None = None
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandContext:
    actor: int
    channel: str
    at: dt.datetime
    tz: ZoneInfo
    # "@ivan", "ivan@example.com" as typed -> a person id, or None when nobody matches.
    resolve_person: Callable[[str], int | None]
    # The ticket of the chat message or notification mail this command replies to.
    context_ticket: int | None = None
    language: str = "en"


Built = c.Command | Query | CommandError
Builder = Callable[["ParsedCommand", CommandContext], Built]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...]
    usage: str
    summary: Mapping[str, str]
    staff_only: bool
    build: Builder
    chat_only: bool = False


# --- reading arguments -------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """The ticket a command is about, and how many leading arguments named it (0 or 1)."""

    ticket: int
    used: int


def _number(token: str) -> int | CommandError | None:
    """`123` or `#123`; None when the token is not meant as a number at all."""
    match = _NUMBER.fullmatch(token)
    if match is None:
        return CommandError("bad_number", {"value": token}) if token.startswith("#") else None
    number = int(match.group(1))
    return number if 0 < number <= _MAX_TICKET else CommandError("bad_number", {"value": token})


def _target(parsed: ParsedCommand, ctx: CommandContext) -> _Target | CommandError:
    """A leading number names the ticket; otherwise the one the message replies to."""
    number = _number(parsed.args[0]) if parsed.args else None
    if isinstance(number, CommandError):
        return number
    if number is not None:
        return _Target(number, 1)
    if ctx.context_ticket is not None:
        return _Target(ctx.context_ticket, 0)
    return CommandError("missing_ticket", {"command": parsed.name})


def _only_target(parsed: ParsedCommand, ctx: CommandContext) -> _Target | CommandError:
    """For commands whose only argument is [N]: `/take abc` is a bad number, not ignored."""
    if parsed.args and _number(parsed.args[0]) is None:
        return CommandError("bad_number", {"value": parsed.args[0]})
    return _target(parsed, ctx)


def _tail(rest: str, skip: int) -> str:
    """`rest` without its first `skip` words, keeping the line breaks of the text after."""
    parts = rest.split(maxsplit=skip)
    return parts[skip].strip() if len(parts) > skip else ""


def _word(parsed: ParsedCommand, index: int) -> str | None:
    return parsed.args[index] if index < len(parsed.args) else None


def _normal(words: Iterable[str]) -> str:
    return " ".join(words).lower().replace("ё", "е").replace("-", " ").replace("_", " ")


# --- status words, priorities, people ------------------------------------------------------

# Normalised by _normal: lower case, ё -> е, "-" and "_" -> " " (so in_progress = in-progress).
STATUS_WORDS: dict[str, Status] = {
    **dict.fromkeys(("open", "opened", "new", "открыт", "открыта", "открыто", "открыть",
                     "новая", "новый"), Status.OPEN),
    **dict.fromkeys(("in progress", "inprogress", "progress", "work", "working", "в работе",
                     "работа", "в работу"), Status.IN_PROGRESS),
    **dict.fromkeys(("waiting", "wait", "pending", "on hold", "hold", "ожидание", "ожидает",
                     "ожидает ответа", "ждет", "ждать", "уточнение"), Status.WAITING),
    **dict.fromkeys(("resolved", "resolve", "solved", "done", "fixed", "решен", "решена",
                     "решено", "решить", "выполнено", "готово"), Status.RESOLVED),
    **dict.fromkeys(("closed", "close", "закрыт", "закрыта", "закрыто", "закрыть"),
                    Status.CLOSED),
}

# Words for the default priorities; other configured priorities pass through as typed and
# the engine checks them against the installation's list.
PRIORITY_WORDS: dict[str, str] = {
    **dict.fromkeys(("low", "низкий", "низкая", "низкое"), "low"),
    **dict.fromkeys(("normal", "medium", "обычный", "обычная", "средний", "средняя",
                     "нормальный"), "normal"),
    **dict.fromkeys(("high", "высокий", "высокая", "высокое"), "high"),
    **dict.fromkeys(("urgent", "critical", "срочный", "срочная", "срочно", "критический",
                     "критичный"), "urgent"),
}

_ME = frozenset({"me", "myself", "я", "мне", "меня", "себе"})
_NOBODY = frozenset({"-", "none", "nobody", "никто", "никому"})


def _status_at(parsed: ParsedCommand, start: int) -> tuple[Status, int] | None:
    """The status named at args[start]: two words first ("в работе"), then one."""
    for size in (2, 1):
        words = parsed.args[start:start + size]
        if len(words) == size and _normal(words) in STATUS_WORDS:
            return STATUS_WORDS[_normal(words)], size
    return None


def _until_at(parsed: ParsedCommand, start: int,
              ctx: CommandContext) -> tuple[dt.datetime, int] | CommandError:
    """The until-time at args[start]: "2026-12-01 15:00" (two words) before "2026-12-01"."""
    if start >= len(parsed.args):
        return CommandError("missing_until")
    for size in (2, 1):
        words = parsed.args[start:start + size]
        until = parse_until(" ".join(words), now=ctx.at, tz=ctx.tz) if len(words) == size else None
        if until is not None:
            return _future(until, " ".join(words), ctx, size)
    return CommandError("bad_date", {"value": parsed.args[start]})


def _future(until: dt.datetime, typed: str, ctx: CommandContext,
            size: int) -> tuple[dt.datetime, int] | CommandError:
    # The engine refuses a past until-time too; saying so here names what the person typed.
    if until <= ctx.at:
        return CommandError("date_in_past", {"value": typed})
    return until, size


def _person(token: str | None, ctx: CommandContext) -> int | None | CommandError:
    if token is None:
        return CommandError("missing_person")
    lowered = token.lower()
    if lowered in _ME:
        return ctx.actor
    if lowered in _NOBODY:
        return None
    person = ctx.resolve_person(token)
    return CommandError("unknown_person", {"who": token}) if person is None else person


# --- builders ------------------------------------------------------------------------------


def _take(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    target = _only_target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    return c.Take(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket)


def _reopen(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    target = _only_target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    return _set_status(ctx, target.ticket, Status.OPEN)


def _close(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    return c.Close(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                   text=_tail(parsed.rest, target.used))


def _resolve(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    return _set_status(ctx, target.ticket, Status.RESOLVED, text=_tail(parsed.rest, target.used))


def _set_status(ctx: CommandContext, ticket: int, status: Status, *,
                until: dt.datetime | None = None, text: str = "") -> c.SetStatus:
    return c.SetStatus(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=ticket,
                       status=status, until=until, text=text)


def _wait(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    return _waiting(parsed, ctx, target.ticket, target.used)


def _waiting(parsed: ParsedCommand, ctx: CommandContext, ticket: int, used: int) -> Built:
    """`waiting` needs its until-time (F2); words after it are a comment to the client."""
    until = _until_at(parsed, used, ctx)
    if isinstance(until, CommandError):
        return until
    moment, size = until
    return _set_status(ctx, ticket, Status.WAITING, until=moment,
                       text=_tail(parsed.rest, used + size))


def _status(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/status [N]` shows the ticket; `/status [N] status [until] [text]` changes it."""
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    if len(parsed.args) == target.used:
        return Query("status", target.ticket)
    found = _status_at(parsed, target.used)
    if found is None:
        return CommandError("unknown_status", {"value": parsed.args[target.used]})
    status, size = found
    used = target.used + size
    if status is Status.WAITING:
        return _waiting(parsed, ctx, target.ticket, used)
    return _set_status(ctx, target.ticket, status, text=_tail(parsed.rest, used))


def _assign(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    person = _person(_word(parsed, target.used), ctx)
    if isinstance(person, CommandError):
        return person
    return c.Assign(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                    person_id=person)


def _priority(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    level = _word(parsed, target.used)
    if level is None:
        return CommandError("missing_priority")
    priority = PRIORITY_WORDS.get(_normal([level]), level.lower())
    return c.SetPriority(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                         priority=priority)


def _comment(*, public: bool) -> Builder:
    """/note (internal, staff only) and /reply (public, mailed to the client) differ only here."""

    def build(parsed: ParsedCommand, ctx: CommandContext) -> Built:
        target = _target(parsed, ctx)
        if isinstance(target, CommandError):
            return target
        text = _tail(parsed.rest, target.used)
        if not text:
            return CommandError("missing_text")
        return c.AddComment(actor=ctx.actor, channel=ctx.channel, at=ctx.at,
                            ticket=target.ticket, body=text, public=public)

    return build


def _undo(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/undo [N]`: the actor's newest answer still waiting to go out (on N, or on the
    ticket of the replied message when there is one)."""
    number = _number(parsed.args[0]) if parsed.args else None
    if isinstance(number, CommandError):
        return number
    if parsed.args and number is None:
        return CommandError("bad_number", {"value": parsed.args[0]})
    return c.WithdrawComment(actor=ctx.actor, channel=ctx.channel, at=ctx.at,
                             ticket=number if number is not None else ctx.context_ticket)


def _move(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/move N desk` (engine/move.py): the desk is one word, as the config names it."""
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    desk = _word(parsed, target.used)
    if desk is None:
        return CommandError("missing_desk")
    return c.MoveTicket(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                        desk=desk)


def _query(name: str) -> Builder:
    def build(parsed: ParsedCommand, ctx: CommandContext) -> Built:
        return Query(name, None, parsed.args)

    return build


def _ticket(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """F5: the channel turns the replied-to message into a ticket; a context ticket here
    means that message already has one."""
    return Query("ticket", ctx.context_ticket, parsed.args)


def _rescue(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """The number of an ignored mail (as `ticketbot mail ignored` lists it), not a ticket."""
    number = _number(parsed.args[0]) if parsed.args else None
    if number is None:
        return CommandError("rescue.missing_id")
    if isinstance(number, CommandError):
        return number
    return Query("rescue", None, (str(number),))


def _stats(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    period = _word(parsed, 0)
    if period is not None and not _PERIOD.fullmatch(period):
        return CommandError("bad_period", {"value": period})
    return Query("stats", None, () if period is None else (period,))


# --- the registry --------------------------------------------------------------------------


def _spec(name: str, aliases: tuple[str, ...], usage: str, en: str, ru: str, build: Builder,
          *, staff_only: bool = True, chat_only: bool = False) -> CommandSpec:
    return CommandSpec(name, aliases, usage, {"en": en, "ru": ru}, staff_only, build, chat_only)


# Commands of other modules build on the types above, so they are imported once those exist
# (bot/commands/__init__.py imports this module first, whichever is asked for).
# Its builders use the types above (bot/commands/finding.py says how the cycle is broken).
from bot.commands import finding  # noqa: E402
from bot.commands.fields import FIELD_SPECS, open_ticket  # noqa: E402

# In /help order: the daily work first, reading commands after.
_SPECS = (
    _spec("take", ("взять", "беру"), "/take [N]",
          "take a ticket and start working on it", "взять заявку в работу", _take),
    _spec("status", ("статус",), "/status [N] [status [until]]",
          "show a ticket, or change its status", "показать заявку или сменить статус",
          _status, staff_only=False),
    _spec("wait", ("ждать", "ожидание"), "/wait N until",
          "wait for the client until a time", "ждать ответа клиента до срока", _wait),
    _spec("resolve", ("решить", "решено"), "/resolve [N] [text]",
          "mark solved, with an optional answer", "отметить решённой, можно с ответом", _resolve),
    _spec("close", ("закрыть",), "/close [N] [text]",
          "close a ticket, with an optional answer", "закрыть заявку, можно с ответом", _close),
    _spec("reopen", ("переоткрыть", "открыть"), "/reopen [N]",
          "open a resolved ticket again", "снова открыть решённую заявку", _reopen),
    _spec("assign", ("назначить",), "/assign N @user",
          "make someone responsible", "назначить исполнителя", _assign),
    _spec("priority", ("приоритет",), "/priority N level",
          "set the priority: low, normal, high, urgent",
          "задать приоритет: низкий, обычный, высокий, срочный", _priority),
    _spec("note", ("заметка",), "/note N text",
          "internal note, staff only", "внутренняя заметка, только для сотрудников",
          _comment(public=False)),
    _spec("reply", ("ответ", "ответить"), "/reply N text",
          "public answer, sent to the client", "публичный ответ, уходит клиенту",
          _comment(public=True)),
    _spec("undo", ("отменить", "отозвать"), "/undo [N]",
          "withdraw your answer while it waits to go out",
          "отозвать свой ответ, пока он не ушёл", _undo),
    *FIELD_SPECS,
    _spec("move", ("перенести",), "/move N desk",
          "move a ticket to another desk", "перенести заявку в другой отдел", _move),
    _spec("ticket", ("заявка",), "/ticket",
          "turn the replied message into a ticket", "сделать заявку из сообщения, ответив на него",
          _ticket, chat_only=True),
    _spec("new", ("новая",), "/new [type=NAME] text",
          "open a ticket", "создать заявку", open_ticket, staff_only=False),
    _spec("my", ("мои",), "/my",
          "tickets I work on, lead or observe", "мои заявки: в работе, созданные, наблюдаемые",
          _query("my"), staff_only=False),
    finding.QUEUE_SPEC,
    _spec("rescue", ("спасти",), "/rescue N",
          "turn an ignored mail into a ticket", "сделать заявку из проигнорированного письма",
          _rescue, chat_only=True),
    _spec("stats", ("статистика",), "/stats [YYYY-MM]",
          "response and resolution figures", "статистика ответов и решений", _stats),
    *finding.SPECS,
    _spec("help", ("помощь", "справка"), "/help",
          "this list", "этот список", _query("help"), staff_only=False),
    _spec("start", (), "/start",
          "get notifications here", "получать уведомления здесь", _query("start"),
          staff_only=False, chat_only=True),
    *directory.specs(_spec),  # F11: /company, /contact, /tickets, /link, /requester
)


def _index(specs: Iterable[CommandSpec]) -> dict[str, CommandSpec]:
    index: dict[str, CommandSpec] = {}
    for spec in specs:
        if spec.name in index:
            raise ValueError(f"command /{spec.name} is registered twice")
        index[spec.name] = spec
    return index


def _names(specs: Iterable[CommandSpec]) -> dict[str, str]:
    """Every typed name (canonical or alias) -> canonical name. A clash fails at import,
    so a new alias can never silently shadow another command."""
    names: dict[str, str] = {}
    for spec in specs:
        for name in (spec.name, *spec.aliases):
            if name in names:
                raise ValueError(f"/{name} names both /{names[name]} and /{spec.name}")
            names[name] = spec.name
    return names


COMMANDS: dict[str, CommandSpec] = _index(_SPECS)
_NAMES: dict[str, str] = _names(_SPECS)


def canonical_name(typed: str) -> str | None:
    return _NAMES.get(typed.lower())


def build_command(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """The engine command or Query for a parsed command, or why there is none."""
    spec = COMMANDS.get(parsed.name)
    if spec is None:
        return CommandError("unknown_command", {"command": parsed.name})
    if spec.chat_only and ctx.channel != CHAT:
        return CommandError("chat_only", {"command": spec.name})
    return spec.build(parsed, ctx)
