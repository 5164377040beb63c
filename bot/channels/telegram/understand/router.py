"""Where an update goes: the support group (first line, ticket threads, commands), the staff
chat (commands, answers to the client, internal notes), private chats, or nowhere.

The bot's own messages and other bots are ignored, and so are chats it is not configured
for (logged once each). Plain support-group messages go to the first line, which writes
them a batch at a time; every other update's journal row is marked done with that batch.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import replace

from bot.channels.telegram.act import promote, ratings, undo
from bot.channels.telegram.act.answer import say
from bot.channels.telegram.act.chatcommands import run_command
from bot.channels.telegram.context import Desk
from bot.channels.telegram.receive.inbound import Author, ButtonPress, ChatMessage, Incoming
from bot.channels.telegram.understand import threads
from bot.channels.telegram.understand.refs import ref
from bot.commands.grammar import ParsedCommand, parse_command
from bot.commands.registry import CHAT, CommandError
from bot.i18n import t
from bot.threading.rules import Thread
from engine import commands as c
from engine.errors import EngineError
from engine.model import Person

log = logging.getLogger("ticketbot.telegram")

# "/take@otherbot 12": the grammar answers None for it, and it is no question either.
_OTHER_BOT = re.compile(r"\s*/[^\W\d]\w*@\w+")
ALBUMS = 1000  # albums remembered, newest kept


class Router:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._unknown_chats: set[int] = set()
        self._reachable: set[int] = set()
        self._albums: OrderedDict[tuple[int, str], threads.About] = OrderedDict()

    async def handle(self, incoming: Incoming, journal_id: int | None) -> None:
        if not await self._route(incoming, journal_id):
            self.desk.first_line.skip(journal_id)

    async def _route(self, incoming: Incoming, journal_id: int | None) -> bool:
        """True when the first line took the update (and its journal row) over."""
        if isinstance(incoming, ButtonPress):
            await self._press(incoming)
            return False
        msg = incoming
        if msg.author is None or msg.author.is_bot or msg.service:
            return False  # our own messages, other bots, joins and pins
        if self.desk.is_support(msg.chat_id):
            return await self._support(msg, msg.author, journal_id)
        if self.desk.is_staff_chat(msg.chat_id):
            await self._staff(msg, msg.author)
        elif msg.private:
            await self._private(msg, msg.author)
        else:
            self._unknown(msg)
        return False

    async def _ran_command(self, msg: ChatMessage, person: Person) -> bool:
        parsed = self._command(msg)
        if parsed is not None:
            await self._run_command(msg, person, parsed)
        return parsed is not None

    async def _run_command(self, msg: ChatMessage, person: Person,
                           parsed: ParsedCommand | CommandError) -> None:
        await run_command(self.desk, msg, person, parsed)
        if msg.album is not None and msg.files:
            # An album captioned with a command: the command took the first file; the
            # others join the ticket as the chat's plain messages do (in the staff chat: an
            # internal note), never as a second answer.
            number = await self.desk.views.ticket_of([ref(msg.chat_id, msg.message_id)])
            if number is not None:
                self._remember(msg, threads.About(Thread(number, "album"), True, ""))

    def _remember(self, msg: ChatMessage, target: threads.About) -> None:
        assert msg.album is not None
        self._albums[(msg.chat_id, msg.album)] = target
        while len(self._albums) > ALBUMS:
            self._albums.popitem(last=False)

    def _command(self, msg: ChatMessage) -> ParsedCommand | CommandError | None:
        return parse_command(msg.text, bot_username=self.desk.me.username)

    async def _support(self, msg: ChatMessage, author: Author, journal_id: int | None) -> bool:
        person = await self.desk.people.person(author)
        if msg.edited:
            if self._command(msg) is None and not _OTHER_BOT.match(msg.text):
                await self.desk.first_line.edit(msg, journal_id)
                await self._edit_ticket_text(msg, person)
                return True
            return False
        parsed = self._command(msg)
        if parsed is not None:
            await self._run_command(msg, person, parsed)
            return False
        if _OTHER_BOT.match(msg.text):
            return False
        target = await self._about(msg, person)
        if target is not None and await threads.comment(self.desk, msg, person, target,
                                                        public=True):
            return False
        await self.desk.first_line.ingest(msg, person, journal_id)
        return True

    async def _about(self, msg: ChatMessage, person: Person) -> threads.About | None:
        """Which ticket a message is about. Photos sent together (an album) are separate
        messages and only the first has the caption ("#12 the error"): the others go
        where the first went."""
        target = await threads.about(self.desk, msg, person)
        if msg.album is None:
            return target
        key = (msg.chat_id, msg.album)
        if target is None:
            first = self._albums.get(key)
            return None if first is None else replace(first, body=msg.text)
        self._remember(msg, target)
        return target

    async def _edit_ticket_text(self, msg: ChatMessage, person: Person) -> None:
        """An edited message that a ticket holds changes there too (no second copy)."""
        source = ref(msg.chat_id, msg.message_id)
        number = await self.desk.views.ticket_of([source])
        if number is None:
            return
        try:
            await self.desk.bus.handle(c.EditComment(actor=person.id, channel=CHAT, at=msg.date,
                                                     ticket=number, source_ref=source,
                                                     body=msg.text))
        except EngineError as exc:
            log.info("edit of message %s not applied to #%s: %s", msg.message_id, number, exc)

    async def _staff(self, msg: ChatMessage, author: Author) -> None:
        """Specialists' own chat: everything is an internal note (a reply to a ticket's post,
        `#N text`); only `/reply` answers the client, and says there where it went."""
        person = await self.desk.people.person(author)
        if not person.role.is_staff:
            log.info("ignoring a message by non-staff person %s in the staff chat", person.id)
            return
        if msg.edited or await self._ran_command(msg, person):
            return
        target = await self._about(msg, person)
        if target is not None:
            await threads.comment(self.desk, msg, person, target, public=False)

    async def _private(self, msg: ChatMessage, author: Author) -> None:
        person = await self.desk.people.person(author)
        await self._can_write_to(author)
        if msg.edited or await self._ran_command(msg, person):
            return
        if not await self._private_comment(msg, person):
            await say(self.desk, msg, t(person.language, "tg.private.hint"), person.language)

    async def _private_comment(self, msg: ChatMessage, person: Person) -> bool:
        """A reply to one of the bot's messages about a ticket: the requester's comment, or
        a specialist's internal note (internal unless they say /reply)."""
        target = await self._about(msg, person)
        if target is None:
            return False
        return await threads.comment(self.desk, msg, person, target,
                                     public=not person.role.is_staff)

    def reachable(self, user_id: int) -> bool:
        """This person wrote to the bot privately since the start (it may write to them)."""
        return user_id in self._reachable

    async def _can_write_to(self, author: Author) -> None:
        """Someone who writes to the bot has started it: private notices may go to them."""
        if author.id not in self._reachable:
            await self.desk.store.mark_started(author.id, author.username, self.desk.now())
            self._reachable.add(author.id)

    async def _press(self, p: ButtonPress) -> None:
        if ratings.is_rating(p.data):
            await ratings.press(self.desk, p)
        elif undo.is_undo(p.data):
            await undo.press(self.desk, p)
        else:
            await promote.press(self.desk, p)

    def _unknown(self, msg: ChatMessage) -> None:
        if msg.chat_id not in self._unknown_chats:
            self._unknown_chats.add(msg.chat_id)
            log.warning("ignoring messages from chat %s (%s): it is neither the support group "
                        "nor the staff chat in [telegram]", msg.chat_id, msg.chat_type)
