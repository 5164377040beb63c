"""Read-only commands in a private chat answered at once: /status, /my, /queue, /help.

The ordinary path journals the update, queues the answer in the outbox, and the sender
claims and sends it: three write transactions before sendMessage. An answer that changes
nothing needs none of them first. For a getUpdates batch made only of such commands, from
people the bot knows and has written to, in chats with nothing queued before them, the
answers are rendered and sent now; then one transaction journals the updates (as done)
and records which ticket each answer is about (a reply to it threads there), before the
next getUpdates confirms the batch to Telegram. A crash after an answer and before that
commit loses nothing: Telegram sends the update again, and it is answered again.

An answer Telegram does not take now (a 429, a network error) goes to the outbox as on the
ordinary path, so it is sent later; anything else than a plain answer, too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from telegram import Update
from telegram.error import TelegramError

from bot.channels.telegram.act import queries
from bot.channels.telegram.context import Desk
from bot.channels.telegram.deliver.delivery import Delivery
from bot.channels.telegram.deliver.outbound import Outbound
from bot.channels.telegram.receive.inbound import ChatMessage, from_update
from bot.channels.telegram.understand.refs import ref
from bot.commands.grammar import ParsedCommand, parse_command
from bot.commands.registry import CHAT, COMMANDS, CommandContext, Query, build_command
from engine.model import Person
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem

log = logging.getLogger("ticketbot.telegram")

QUICK = frozenset({"status", "my", "queue", "help"})


class Collected(Outbound):
    """An outbound that keeps what a query says instead of queuing it."""

    def __init__(self) -> None:
        self.items: list[OutboxItem] = []

    def wake(self) -> None:
        return None

    async def enqueue(self, *items: OutboxItem) -> None:
        self.items.extend(items)


@dataclass(frozen=True)
class Asked:
    message: ChatMessage
    person: Person
    query: Query


@dataclass(frozen=True)
class Answered:
    """A sent answer about a ticket: replying to it addresses that ticket."""

    ticket: int
    chat_id: int
    message_id: int


class QuickAnswers:
    def __init__(self, desk: Desk, delivery: Delivery, *, reachable: Callable[[int], bool],
                 quiet: Callable[[int], bool]) -> None:
        self.desk = desk
        self.delivery = delivery
        self.reachable = reachable  # the person has written to the bot before
        self.quiet = quiet  # nothing of this chat waits in the outbox
        self.answered = 0  # updates answered this way (tests and benches read it)

    def plan(self, updates: Sequence[Update]) -> list[Asked] | None:
        """The batch's questions, or None if any update needs the ordinary path."""
        asked = [self._asked(u) for u in updates]
        if not asked or any(a is None for a in asked):
            return None
        return [a for a in asked if a is not None]

    def _asked(self, update: Update) -> Asked | None:
        msg = from_update(update)
        if not isinstance(msg, ChatMessage) or not msg.private or msg.edited or \
                msg.reply_to is not None or msg.author is None or msg.author.is_bot:
            return None
        person = self.desk.people.known(msg.author.id)
        if person is None or not self.reachable(msg.author.id) or not self.quiet(msg.chat_id):
            return None
        parsed = parse_command(msg.text, bot_username=self.desk.me.username)
        if not isinstance(parsed, ParsedCommand) or parsed.name not in QUICK:
            return None
        if COMMANDS[parsed.name].staff_only and not person.role.is_staff:
            return None
        built = build_command(parsed, CommandContext(
            actor=person.id, channel=CHAT, at=msg.date, tz=self.desk.tz,
            resolve_person=self.desk.people.resolver(msg.mentions), context_ticket=None,
            language=person.language))
        return Asked(msg, person, built) if isinstance(built, Query) else None

    async def answer(self, asked: Sequence[Asked]) -> list[Answered]:
        """Each question's answer, sent now (or queued where it cannot be)."""
        done: list[Answered] = []
        for question in asked:
            said = Collected()
            await queries.answer(replace(self.desk, outbound=said), question.message,
                                 question.person, question.query)
            done += await self._send(said.items)
            self.answered += 1
        return done

    async def _send(self, items: list[OutboxItem]) -> list[Answered]:
        sent: list[Answered] = []
        for i, item in enumerate(items):
            if item.kind != NoticeKind.REPLY:
                await self._queue(items[i:])
                break
            p = item.payload
            try:
                message = await self.delivery.send(
                    int(item.recipient), p["html"], reply_to=p.get("reply_to"),
                    buttons=p.get("buttons"), thread=p.get("thread"))
            except TelegramError as exc:
                log.info("answer to chat %s not sent at once (%s); queued", item.recipient,
                         exc)
                await self._queue(items[i:])
                break
            if item.ticket is not None:
                sent.append(Answered(item.ticket, message.chat.id, message.message_id))
        return sent

    async def _queue(self, items: list[OutboxItem]) -> None:
        await self.desk.outbound.enqueue(*items)


def answered_refs(done: Sequence[Answered]) -> list[tuple[int, str]]:
    """(ticket, message ref) of each answer, for the journal's transaction."""
    return [(a.ticket, ref(a.chat_id, a.message_id)) for a in done]
