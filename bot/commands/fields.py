"""The commands that set a ticket's fields (issue 14): `/type`, `/tag`, `/observe`,
`/unobserve`, `/cc`, `/due`, `/spent`, and `/new type=NAME text`. The registry splices
`FIELD_SPECS` into its list; the engine decides who may use them (engine/fields.py).

    /type 12 incident        /tag 12 +printer -network     /observe 12 [@sam]
    /cc 12 boss@acme.example -old@acme.example             /due 12 2026-12-01 15:00
    /spent 12 1h30m  (adds up; -15m corrects)              /new type=design Build the rack
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.commands.registry import (
    Built,
    CommandContext,
    CommandError,
    CommandSpec,
    _person,
    _spec,
    _tail,
    _target,
    _until_at,
    _word,
)
from engine import commands as c
from engine.fields import TAG_LIMIT, address_of, tag_of

if TYPE_CHECKING:  # the grammar imports the registry, which imports this module
    from bot.commands.grammar import ParsedCommand

_SUBJECT_CHARS = 80
_TYPE_ARG = re.compile(r"(?:type|тип)=(\S+)", re.IGNORECASE)
_CLEAR = frozenset({"-", "none", "clear", "нет", "сбросить"})
# Longest unit first, so "45min" is not read as "45m" followed by "in".
_DURATION_PART = re.compile(r"(\d+(?:[.,]\d+)?)(часов|часа|час|hrs|hr|h|ч|mins|min|мин|m|м)?")
_HOURS = frozenset({"h", "hr", "hrs", "ч", "час", "часа", "часов"})
MAX_MINUTES = 100_000  # about ten weeks of round-the-clock work: more is a typo


def parse_minutes(text: str) -> int | None:
    """`1h30m`, `1h 30m`, `1.5h`, `90m`, `90` (minutes), `1ч30м`; a leading `-` subtracts.
    None when the text is no duration (or a zero or absurd one)."""
    raw = "".join(text.lower().split())
    sign = -1 if raw.startswith("-") else 1
    raw = raw.lstrip("+-")
    total, pos = 0.0, 0
    while pos < len(raw):
        match = _DURATION_PART.match(raw, pos)
        if match is None or match.end() == pos:
            return None
        value = float(match.group(1).replace(",", "."))
        total += value * 60 if match.group(2) in _HOURS else value
        pos = match.end()
    minutes = round(total)
    return sign * minutes if 0 < minutes <= MAX_MINUTES else None


def _type(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    name = _word(parsed, target.used)
    if name is None:
        return CommandError("fields.missing_type")
    return c.SetType(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                     type=name)


def _tag(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`+x` or `x` adds, `-x` removes."""
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    words = parsed.args[target.used:]
    if not words:
        return CommandError("fields.missing_tags")
    split = _added_and_removed(words, _tag_in, "fields.bad_tag")
    if isinstance(split, CommandError):
        return split
    return c.ChangeTags(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                        add=split[0], remove=split[1])


def _tag_in(word: str) -> str | None:
    tag = tag_of(word[1:] if word[0] in "+-" else word)
    return tag if tag and len(tag) <= TAG_LIMIT else None


def _added_and_removed(words: Sequence[str], value_of: Callable[[str], str | None],
                       bad: str) -> tuple[tuple[str, ...], tuple[str, ...]] | CommandError:
    """`+x` or `x` adds, `-x` removes: the values to add and to remove, or the error for
    the first word that names no value."""
    add: list[str] = []
    remove: list[str] = []
    for word in words:
        value = value_of(word)
        if value is None:
            return CommandError(bad, {"value": word})
        (remove if word.startswith("-") else add).append(value)
    return tuple(add), tuple(remove)


def _observe(*, stop: bool) -> Callable[[ParsedCommand, CommandContext], Built]:
    """`/observe N` (yourself) or `/observe N @who`; `/unobserve` the same way."""

    def build(parsed: ParsedCommand, ctx: CommandContext) -> Built:
        target = _target(parsed, ctx)
        if isinstance(target, CommandError):
            return target
        who = _word(parsed, target.used)
        person = ctx.actor if who is None else _person(who, ctx)
        if isinstance(person, CommandError):
            return person
        if person is None:
            return CommandError("unknown_person", {"who": who or ""})
        kind = c.RemoveObserver if stop else c.AddObserver
        return kind(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                    person_id=person)

    return build


def _cc(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`address` puts it in copy, `-address` takes it off."""
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    words = parsed.args[target.used:]
    if not words:
        return CommandError("fields.missing_address")
    split = _added_and_removed(words, lambda word: address_of(word.lstrip("+-")),
                               "fields.bad_address")
    if isinstance(split, CommandError):
        return split
    return c.ChangeCc(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                      add=split[0], remove=split[1])


def _due(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """A date as `/wait` takes it (a day alone means 09:00 that day); `-` clears it."""
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    word = _word(parsed, target.used)
    if word is None:
        return CommandError("fields.missing_due")
    if word.lower() in _CLEAR:
        return c.SetDue(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                        due=None)
    until = _until_at(parsed, target.used, ctx)
    if isinstance(until, CommandError):
        return until
    return c.SetDue(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target.ticket,
                    due=until[0])


def _spent(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    typed = " ".join(parsed.args[target.used:])
    if not typed:
        return CommandError("fields.missing_spent")
    minutes = parse_minutes(typed)
    if minutes is None:
        return CommandError("fields.bad_spent", {"value": typed})
    return c.AddTimeSpent(actor=ctx.actor, channel=ctx.channel, at=ctx.at,
                          ticket=target.ticket, minutes=minutes)


def open_ticket(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/new text`, or `/new type=NAME text` for a ticket of that type (an internal type
    makes an internal ticket, for staff)."""
    first = parsed.rest.split(maxsplit=1)[0] if parsed.rest else ""
    named = _TYPE_ARG.fullmatch(first)
    text = _tail(parsed.rest, 1) if named else parsed.rest
    if not text:
        return CommandError("missing_text")
    subject = text.partition("\n")[0].strip()[:_SUBJECT_CHARS]
    return c.OpenTicket(actor=ctx.actor, channel=ctx.channel, at=ctx.at, subject=subject,
                        description=text, requester_id=ctx.actor,
                        type=named.group(1) if named else None)


FIELD_SPECS: tuple[CommandSpec, ...] = (
    _spec("type", ("тип",), "/type N type",
          "change the ticket type", "сменить тип заявки", _type),
    _spec("tag", ("тег", "теги"), "/tag N +tag -tag",
          "add or remove tags", "добавить или убрать теги", _tag),
    _spec("observe", ("наблюдать",), "/observe N [@user]",
          "observe a ticket (you, or someone)", "наблюдать за заявкой (вы или кто-то)",
          _observe(stop=False)),
    _spec("unobserve", ("ненаблюдать",), "/unobserve N [@user]",
          "stop observing a ticket", "перестать наблюдать за заявкой", _observe(stop=True)),
    _spec("cc", ("копия",), "/cc N address [-address]",
          "put a mail address in copy, or take it off",
          "поставить адрес в копию или убрать его", _cc),
    _spec("due", ("срок",), "/due N date",
          "planned resolution date (staff only)", "плановая дата решения (видят только сотрудники)",
          _due),
    _spec("spent", ("затрачено",), "/spent N 1h30m",
          "log time spent (adds up; staff only)",
          "учесть затраченное время (суммируется; видят только сотрудники)", _spent),
)
