"""The first line's state: open dialogs in memory, changes written a batch at a time.

The poller hands over every plain support-group message; nothing here talks to Telegram.
Changes pile up in memory and `flush` sends them, with the journal rows they came from, to
the engine as one `RecordDialogs` command (one transaction, with the QuestionAsked and
QuestionAnswered desk events), so a burst of group chatter costs one write per getUpdates
batch and a crash before the flush replays those updates instead of losing them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from bot.channels.telegram.ports import CHANNEL, ChatStore, StoredMessage
from bot.channels.telegram.receive.inbound import ChatFile, ChatMessage
from bot.channels.telegram.understand import dialogs as d
from engine.bus import MessageBus
from engine.commands import RecordDialogs
from engine.model import Person

log = logging.getLogger("ticketbot.telegram")

# Recent messages and settled dialogs kept for reply lookups; older ones are read back.
INDEX_SIZE = 50_000
SETTLED_SIZE = 10_000
# Files of recent questions, for `/ticket` to attach (kept in memory only: a question asked
# before a restart keeps its text and "[photo]", and a reply to it still brings its file).
FILES_SIZE = 10_000

MessageKey = tuple[int, int]


class DialogTracker:
    def __init__(self, store: ChatStore, bus: MessageBus, window: dt.timedelta) -> None:
        self._store = store
        self._bus = bus
        self._window = window
        self._open: dict[str, d.Dialog] = {}
        self._latest: dict[tuple[int, int], str] = {}  # (chat, author) -> open dialog key
        self._settled: OrderedDict[str, d.Dialog] = OrderedDict()
        self._index: OrderedDict[MessageKey, str] = OrderedDict()
        self._dirty: dict[str, d.Dialog] = {}
        self._messages: dict[MessageKey, StoredMessage] = {}
        self._done: list[int] = []
        self._files: OrderedDict[MessageKey, tuple[ChatFile, ...]] = OrderedDict()

    async def load(self, chat_ids: Sequence[int]) -> None:
        for dialog in await self._store.open_dialogs(chat_ids):
            self._keep(dialog)

    @property
    def unsaved(self) -> bool:
        """Dialog or message changes wait for `flush` (journal marks alone do not count)."""
        return bool(self._dirty or self._messages)

    @property
    def marks(self) -> int:
        return len(self._done)

    # --- ingest ---------------------------------------------------------------------------

    async def ingest(self, msg: ChatMessage, person: Person, journal_id: int | None) -> None:
        """One plain support-group message (not a command, not about a ticket)."""
        line = d.Line(chat_id=msg.chat_id, message_id=msg.message_id, author_id=person.id,
                      text=msg.text, date=msg.date,
                      reply_to=None if msg.reply_to is None else msg.reply_to.message_id)
        around = await self._surroundings(line, staff=person.role.is_staff)
        decision = d.decide(line, staff=person.role.is_staff, around=around,
                            window=self._window)
        self._apply(decision, line)
        if msg.files and isinstance(decision, d.Start | d.Join):
            self._files[(msg.chat_id, msg.message_id)] = msg.files
            _trim(self._files, FILES_SIZE)
        self._journal(journal_id)

    def files(self, chat_id: int, message_ids: Sequence[int]) -> tuple[ChatFile, ...]:
        """The files of these question messages that this process saw, in their order."""
        return tuple(f for m in message_ids for f in self._files.get((chat_id, m), ()))

    async def edit(self, msg: ChatMessage, journal_id: int | None) -> None:
        """An edited question: its stored text changes in place, never a second copy."""
        dialog = await self.find(msg.chat_id, msg.message_id)
        if dialog is not None:
            self._change(dialog.edited(msg.message_id, msg.text))
            self._record(msg.chat_id, msg.message_id, dialog.key, msg.text, msg.date,
                         author_id=_author_of(dialog, msg.message_id), edited_at=msg.date)
            if dialog.ticket is not None:
                log.info("message %s of ticket #%s edited; the ticket keeps its text",
                         msg.message_id, dialog.ticket)
        self._journal(journal_id)

    def skip(self, journal_id: int | None) -> None:
        """An update with nothing to store still has to be marked done with its batch."""
        self._journal(journal_id)

    def _journal(self, journal_id: int | None) -> None:
        if journal_id is not None:
            self._done.append(journal_id)

    async def _surroundings(self, line: d.Line, *, staff: bool) -> d.Surroundings:
        replied = None if line.reply_to is None else await self.find(line.chat_id, line.reply_to)
        latest_key = self._latest.get((line.chat_id, line.author_id))
        # Only a specialist's message without a reply needs every open dialog of the chat.
        in_chat = (() if not staff or line.reply_to is not None else
                   d.oldest_first(x for x in self._open.values() if x.chat_id == line.chat_id))
        return d.Surroundings(replied=replied,
                              latest_of_author=self._open.get(latest_key or ""),
                              open_in_chat=in_chat)

    def _apply(self, decision: d.Decision, line: d.Line) -> None:
        if isinstance(decision, d.Start):
            self._add_part(d.new_dialog(line), line)
        elif isinstance(decision, d.Join):
            self._add_part(decision.dialog.joined(line), line)
        elif isinstance(decision, d.Answer):
            for dialog in decision.dialogs:
                self._change(dialog.answered(line.author_id, line.date))

    def _add_part(self, dialog: d.Dialog, line: d.Line) -> None:
        self._change(dialog)
        self._record(line.chat_id, line.message_id, dialog.key, line.text, line.date,
                     author_id=line.author_id, reply_to=line.reply_to)

    def _record(self, chat_id: int, message_id: int, key: str, text: str, at: dt.datetime, *,
                author_id: int | None, reply_to: int | None = None,
                edited_at: dt.datetime | None = None) -> None:
        old = self._messages.get((chat_id, message_id))
        sent_at = at if old is None or edited_at is None else old.sent_at
        self._messages[(chat_id, message_id)] = StoredMessage(
            chat_id=chat_id, message_id=message_id, author_id=author_id, dialog_ref=key,
            reply_to=reply_to if old is None else old.reply_to, text=text, sent_at=sent_at,
            edited_at=edited_at)
        self._remember(chat_id, message_id, key)

    # --- state ----------------------------------------------------------------------------

    def _change(self, dialog: d.Dialog) -> None:
        self._dirty[dialog.key] = dialog
        self._keep(dialog)

    def _keep(self, dialog: d.Dialog) -> None:
        author = (dialog.chat_id, dialog.author_id)
        if dialog.status == d.OPEN:
            self._open[dialog.key] = dialog
            latest = self._open.get(self._latest.get(author, ""))
            if latest is None or latest.started_at <= dialog.started_at:
                self._latest[author] = dialog.key
        else:
            self._open.pop(dialog.key, None)
            if self._latest.get(author) == dialog.key:
                del self._latest[author]
            self._settled[dialog.key] = dialog
            self._settled.move_to_end(dialog.key)
            _trim(self._settled, SETTLED_SIZE)
        for part in dialog.parts:
            self._remember(dialog.chat_id, part.message_id, dialog.key)

    def _remember(self, chat_id: int, message_id: int, key: str) -> None:
        self._index[(chat_id, message_id)] = key
        self._index.move_to_end((chat_id, message_id))
        _trim(self._index, INDEX_SIZE)

    async def find(self, chat_id: int, message_id: int) -> d.Dialog | None:
        """The dialog a message belongs to: memory first, then the database."""
        key = self._index.get((chat_id, message_id))
        if key is not None:
            found = self._open.get(key) or self._dirty.get(key) or self._settled.get(key)
            if found is not None:
                return found
        dialog = await self._store.dialog_of_message(chat_id, message_id)
        if dialog is not None:
            self._keep(dialog)
        return dialog

    # --- tickets and writes ---------------------------------------------------------------

    async def promote(self, dialog: d.Dialog, ticket: int, by: int, at: dt.datetime) -> None:
        """The dialog became ticket `ticket`; /ticket counts as its answer if none came yet."""
        current = self._open.get(dialog.key) or self._dirty.get(dialog.key) or dialog
        if current.answered_at is None:
            current = current.answered(by, at)
        self._change(replace(current, status=d.TICKET, ticket=ticket))
        await self.flush()

    async def recent(self, chat_id: int, limit: int) -> list[d.Dialog]:
        await self.flush()
        return await self._store.recent_questions(chat_id, limit)

    async def flush(self) -> None:
        if not (self._dirty or self._messages or self._done):
            return
        # The service records the batch; each event names who asked or answered.
        await self._bus.handle(RecordDialogs(
            actor=None, channel=CHANNEL, dialogs=tuple(self._dirty.values()),
            messages=tuple(self._messages.values()), settles=tuple(self._done)))
        self._dirty.clear()
        self._messages.clear()
        self._done.clear()


def _author_of(dialog: d.Dialog, message_id: int) -> int | None:
    return next((p.author_id for p in dialog.parts if p.message_id == message_id), None)


def _trim(cache: OrderedDict[str, d.Dialog] | OrderedDict[MessageKey, str]
          | OrderedDict[MessageKey, tuple[ChatFile, ...]], size: int) -> None:
    while len(cache) > size:
        cache.popitem(last=False)
