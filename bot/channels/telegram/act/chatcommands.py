"""F6 in Telegram: the shared grammar and registry (`bot.commands`) turn a message into an
engine command or a query; refusals are explained in the person's language."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bot.channels.telegram.act import queries
from bot.channels.telegram.act.answer import say
from bot.channels.telegram.act.confirm import confirm
from bot.channels.telegram.act.files import fetch, noted
from bot.channels.telegram.context import Desk
from bot.channels.telegram.receive.inbound import ChatMessage
from bot.channels.telegram.understand.refs import parse_ref, ref
from bot.commands.attach import leftover, takes_files, with_files
from bot.commands.grammar import ParsedCommand
from bot.commands.registry import (
    CHAT,
    COMMANDS,
    CommandContext,
    CommandError,
    Query,
    build_command,
)
from bot.commands.required import ask_missing
from bot.i18n import explain, t
from engine import commands as c
from engine.errors import EngineError
from engine.model import Person
from engine.notify.kinds import NoticeKind
from engine.notify.reactor import route
from engine.notify.rules import Notice
from engine.ticket_types import type_named

log = logging.getLogger("ticketbot.telegram")


async def run_command(desk: Desk, msg: ChatMessage, person: Person,
                      parsed: ParsedCommand | CommandError) -> None:
    lang = person.language
    if isinstance(parsed, CommandError):
        await say(desk, msg, t(lang, parsed.key, **parsed.params), lang)
        return
    if await desk.views.ticket_of([ref(msg.chat_id, msg.message_id)]) is not None:
        # A replayed update (a crash came before its journal row was marked done).
        log.info("command in message %s:%s was carried out before; not again", msg.chat_id,
                 msg.message_id)
        return
    if COMMANDS[parsed.name].staff_only and not person.role.is_staff:
        await say(desk, msg, t(lang, "not_a_specialist"), lang)
        return
    built = build_command(parsed, await _context(desk, msg, person, parsed))
    if isinstance(built, CommandError):
        await say(desk, msg, t(lang, built.key, **built.params), lang)
    elif isinstance(built, Query):
        await queries.answer(desk, msg, person, built)
    else:
        await execute(desk, msg, person, built)


async def _context(desk: Desk, msg: ChatMessage, person: Person,
                   parsed: ParsedCommand) -> CommandContext:
    replied = [] if msg.reply_to is None else [ref(msg.chat_id, msg.reply_to.message_id)]
    return CommandContext(actor=person.id, channel=CHAT, at=msg.date, tz=desk.tz,
                          resolve_person=await _resolver(desk, msg, parsed),
                          context_ticket=await desk.views.ticket_of(replied),
                          language=person.language)


async def _resolver(desk: Desk, msg: ChatMessage,
                    parsed: ParsedCommand) -> Callable[[str], int | None]:
    """The directory's resolver, and mail addresses typed as arguments (staff who have no
    Telegram are found by their address), looked up now: the registry's resolver is
    synchronous."""
    by_address: dict[str, int] = {}
    async with desk.views.reading() as r:
        for word in parsed.args:
            if "@" in word[1:] and (found := await r.people.by_email(word.lower())) is not None:
                by_address[word.lower()] = found.id
    named = desk.people.resolver(msg.mentions)

    def resolve(token: str) -> int | None:
        return by_address.get(token.lower()) or named(token)

    return resolve


async def execute(desk: Desk, msg: ChatMessage, person: Person, cmd: c.Command) -> None:
    if desk.is_support(msg.chat_id) and _internal_opening(desk, cmd):
        await say(desk, msg, t(person.language, "fields.internal_in_group"), person.language)
        return
    # A file captioned with the command ("/reply 12 here is the manual") goes with its text.
    fetched = await fetch(desk, msg.files)
    takes = takes_files(cmd) or not msg.files
    run = with_files(noted(cmd, fetched), fetched.attachments)
    try:
        outcome = await desk.bus.handle(replace(run, source_ref=ref(msg.chat_id,
                                                                     msg.message_id)))
        if not takes and outcome.ticket is not None:
            body = fetched.body(t(person.language, "files.kept", command=_command_name(msg)))
            await desk.bus.handle(leftover(cmd, outcome.ticket, body, fetched.attachments,
                                           public=not person.role.is_staff))
    except EngineError as exc:
        await say(desk, msg, explain(person.language, exc), person.language)
        return
    finally:
        desk.outbound.wake()  # the reactors queued card edits and notices
    if outcome.ticket is None:
        return
    text = _success(cmd, outcome.ticket, person.language)
    ask = await _ask_missing(desk, cmd, outcome.ticket, person.language)
    if desk.is_support(msg.chat_id) and not isinstance(cmd, c.OpenTicket | c.WithdrawComment):
        # The group sees a ✅ on the command, and nothing of a ticket that is not its own;
        # what the ticket still needs goes to the staff chat (or the taker in private).
        await confirm(desk, msg, text, person.language)
        if ask is not None:
            await say(desk, msg, ask, person.language, ticket=outcome.ticket,
                      room=desk.tg.staff_chat_id or person.telegram_id)
    elif await _worth_saying(desk, msg, person, cmd, outcome.ticket):
        await say(desk, msg, text if ask is None else f"{text}\n\n{ask}", person.language,
                  ticket=outcome.ticket)


def _internal_opening(desk: Desk, cmd: c.Command) -> bool:
    """`/new type=NAME` of an internal type: the support group's members must not see it."""
    return isinstance(cmd, c.OpenTicket) and cmd.type is not None and type_named(
        desk.settings.engine.type_specs, cmd.type).internal


async def _ask_missing(desk: Desk, cmd: c.Command, number: int, lang: str) -> str | None:
    """After `/take`: the fields the ticket's type requires that it lacks (seed 003)."""
    if not isinstance(cmd, c.Take):
        return None
    ticket = await desk.views.ticket(number)
    return None if ticket is None else ask_missing(ticket, desk.settings.engine, lang)


def _command_name(msg: ChatMessage) -> str:
    word = msg.caption.split(maxsplit=1)[0] if msg.caption.strip() else "?"
    return word.lstrip("/").partition("@")[0]


def _success(cmd: c.Command, number: int, lang: str) -> str:
    if isinstance(cmd, c.Take):
        return t(lang, "taken", number=number)
    if isinstance(cmd, c.OpenTicket):
        return t(lang, "ticket_opened", number=number)
    if isinstance(cmd, c.WithdrawComment):
        return t(lang, "withdrawn", number=number)
    if isinstance(cmd, c.MergeTickets):
        return t(lang, "merge.done", source=cmd.source, target=number)
    return t(lang, "done")


async def _worth_saying(desk: Desk, msg: ChatMessage, person: Person, cmd: c.Command,
                        number: int) -> bool:
    """The group sees a change on the ticket's card, so a success there needs no message of
    its own; and a new ticket's acknowledgement may already be on its way to this chat."""
    ticket = await desk.views.ticket(number)
    if ticket is None or isinstance(cmd, c.WithdrawComment):
        return True
    source = parse_ref(ticket.source_ref)
    if desk.is_support(msg.chat_id) and source is not None and desk.is_support(source.chat_id):
        return False
    if not isinstance(cmd, c.OpenTicket) or ticket.requester_id != person.id or ticket.internal:
        return True  # an internal ticket gets no acknowledgement
    ack = Notice(NoticeKind.ACK, person=person)
    return ("telegram", str(msg.chat_id)) not in route(ack, ticket)
