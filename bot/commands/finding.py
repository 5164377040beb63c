"""F17 commands for finding things: `/find`, `/queue` views, `/merge`, canned answers
(`/answer`, `/answers`). Builders only, as in `registry`: the engine decides who may.

`registry._SPECS` splices these specs in; this module imports the registry's types, so the
registry imports it after they are defined (`bot/commands/__init__.py` loads the registry
first, whichever module is imported first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.registry import (
    Builder,
    Built,
    CommandContext,
    CommandError,
    CommandSpec,
    Query,
    _normal,
    _number,
    _target,
)
from engine import commands as c
from engine.finding import QueueView

if TYPE_CHECKING:
    from bot.commands.grammar import ParsedCommand

# Normalised like registry._normal: lower case, ё -> е.
QUEUE_WORDS: dict[str, QueueView] = {
    **dict.fromkeys(("all", "все", "всё"), QueueView.ALL),
    **dict.fromkeys(("overdue", "late", "просрочено", "просроченные", "просрочка"),
                    QueueView.OVERDUE),
    **dict.fromkeys(("mine", "my", "me", "мои", "мое", "моё"), QueueView.MINE),
    **dict.fromkeys(("unassigned", "free", "nobody", "свободные", "ничьи", "без"),
                    QueueView.UNASSIGNED),
}


def find(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/find text`: the command's own line is the query (in mail the lines below are not)."""
    text = parsed.rest.partition("\n")[0].strip()
    if not text:
        return CommandError("find.missing_text")
    return Query("find", None, (text,))


def queue(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/queue [all|overdue|mine|@who|unassigned]`; args: the view, and a person id for @who."""
    if not parsed.args:
        return Query("queue", None, (QueueView.UNASSIGNED.value,))
    word = parsed.args[0]
    view = QUEUE_WORDS.get(_normal([word]))
    if view is QueueView.MINE:
        return Query("queue", None, (QueueView.PERSON.value, str(ctx.actor)))
    if view is not None:
        return Query("queue", None, (view.value,))
    if not word.startswith("@") and "@" not in word:
        return CommandError("queue.unknown_view", {"value": word})
    person = ctx.resolve_person(word)
    if person is None:
        return CommandError("unknown_person", {"who": word})
    return Query("queue", None, (QueueView.PERSON.value, str(person)))


def merge(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/merge N M`: M joins N. Both numbers are required: merging is not undone lightly."""
    if len(parsed.args) < 2:
        return CommandError("merge.usage")
    numbers = [_number(a) for a in parsed.args[:2]]
    for typed, number in zip(parsed.args, numbers, strict=False):
        if isinstance(number, CommandError):
            return number
        if number is None:
            return CommandError("bad_number", {"value": typed})
    target, source = numbers
    assert isinstance(target, int) and isinstance(source, int)
    if target == source:
        return CommandError("merge.same", {"number": str(target)})
    return c.MergeTickets(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=target,
                          source=source)


def answer(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/answer [N] name`: the channel fills the template and posts it as `/reply` would."""
    target = _target(parsed, ctx)
    if isinstance(target, CommandError):
        return target
    name = parsed.args[target.used] if len(parsed.args) > target.used else None
    if name is None:
        return CommandError("answer.missing_name")
    return Query("answer", target.ticket, (name.lower(),))


def answers(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    return Query("answers", None, ())


def _spec(name: str, aliases: tuple[str, ...], usage: str, en: str, ru: str, build: Builder,
          *, staff_only: bool = True) -> CommandSpec:
    return CommandSpec(name, aliases, usage, {"en": en, "ru": ru}, staff_only, build)


QUEUE_SPEC: CommandSpec = _spec(
    "queue", ("очередь",), "/queue [all|overdue|mine|@who]",
    "open tickets, oldest first, with SLA time left: unassigned, all, overdue, mine or someone's",
    "открытые заявки, старые первыми, с остатком SLA: без исполнителя, все, просроченные, "
    "мои или чьи-то", queue)

SPECS: tuple[CommandSpec, ...] = (
    _spec("find", ("найти", "поиск"), "/find text",
          "search tickets by words in subjects and messages",
          "искать заявки по словам в темах и сообщениях", find, staff_only=False),
    _spec("merge", ("объединить",), "/merge N M",
          "ticket M joins ticket N and is closed", "заявка M вливается в N и закрывается",
          merge),
    _spec("answer", ("шаблон",), "/answer N name",
          "send a canned answer to the client", "отправить клиенту готовый ответ", answer),
    _spec("answers", ("шаблоны",), "/answers",
          "the canned answers", "список готовых ответов", answers),
)
