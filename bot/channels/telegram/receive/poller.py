"""Long polling in our own event loop, one update at a time, nothing lost.

Each getUpdates batch is written to the journal (the `inbound` table) before its offset is
confirmed to Telegram, so a crash never drops an update Telegram already forgot; the
journal's unique (channel, update id) drops the ones Telegram sends again. Updates are then
handled in order; rows left pending by a crash are handled first at the next start.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, TelegramError

from bot.channels.telegram.act.quick import QuickAnswers, answered_refs
from bot.channels.telegram.ports import CHANNEL, ChatStore
from bot.channels.telegram.receive.inbound import from_update
from bot.channels.telegram.receive.transport import UpdatesRequest
from bot.channels.telegram.understand.firstline import DialogTracker
from bot.channels.telegram.understand.router import Router
from engine.backoff import TELEGRAM_POLL, Backoff
from engine.inbox import Inbox
from engine.ports import Clock

log = logging.getLogger("ticketbot.telegram")

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
BATCH = 100
# Journal rows of handled commands are marked done lazily (their effects are idempotent on a
# replay), so an answer does not wait behind that write; at most this many wait.
LAZY_MARKS = 100
MAX_ATTEMPTS = 3  # an update that fails this often is quarantined, not retried for ever


class Poller:
    def __init__(self, bot: Bot, raw: UpdatesRequest | None, store: ChatStore,
                 inbound: Inbox, router: Router, first_line: DialogTracker, clock: Clock, *,
                 timeout: float = 25, backoff: Backoff = TELEGRAM_POLL,
                 quick: QuickAnswers | None = None) -> None:
        self._bot = bot
        self._raw = raw
        self._store = store
        self._inbound = inbound
        self._router = router
        self._first_line = first_line
        self._clock = clock
        self._timeout = timeout
        self._backoff = backoff
        self._offset: int | None = None
        self.quick = quick
        self.last_update_id = 0
        self.progress = asyncio.Condition()

    async def replay(self) -> None:
        """Updates journaled before a crash and never finished."""
        previous: set[int] = set()
        while rows := await self._inbound.pending(CHANNEL, BATCH):
            ids = {r.id for r in rows}
            if ids == previous:
                break  # only failing rows are left: they are tried again at the next start
            previous = ids
            await self._handle([(r.id, Update.de_json(json.loads(r.raw or b"{}"), self._bot))
                                for r in rows])

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                updates = await self._bot.get_updates(
                    offset=self._offset, timeout=int(self._timeout), limit=BATCH,
                    allowed_updates=list(ALLOWED_UPDATES))
            except TelegramError as exc:
                failures += 1
                delay = self._backoff.delay(failures)
                _log_poll_error(exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            await self.take(updates)
            if not updates:
                await self._first_line.flush()  # a quiet moment: write the lazy marks

    async def take(self, updates: Sequence[Update]) -> None:
        """Journal a batch, confirm it with the next offset, then handle it."""
        if not updates:
            return
        sent = {} if self._raw is None else self._raw.raw_updates()
        asked = None if self.quick is None else self.quick.plan(updates)
        if self.quick is not None and asked is not None:
            # Read-only questions: answered first, journaled (as done) before the next
            # getUpdates confirms them to Telegram (act/quick.py).
            done = await self.quick.answer(asked)
            await self._store.journal_answered(_raw(updates, sent), self._clock.now(),
                                               answered_refs(done))
            self._offset = max(u.update_id for u in updates) + 1
        else:
            new = await self._store.journal(_raw(updates, sent), self._clock.now())
            self._offset = max(u.update_id for u in updates) + 1
            await self._handle([(new[u.update_id], u) for u in updates if u.update_id in new])
        await self._done(max(u.update_id for u in updates))

    async def _handle(self, batch: Sequence[tuple[int, Update]]) -> None:
        for journal_id, update in batch:
            await self._one(journal_id, update)
        if self._first_line.unsaved or self._first_line.marks >= LAZY_MARKS:
            await self._first_line.flush()

    async def _one(self, journal_id: int, update: Update) -> None:
        incoming = from_update(update)
        if incoming is None:
            self._first_line.skip(journal_id)
            return
        try:
            await self._router.handle(incoming, journal_id)
        except Exception as exc:  # noqa: BLE001 - bad input never stops the bot
            log.exception("update %s failed", update.update_id)
            await self._failed(journal_id, repr(exc))

    async def _failed(self, journal_id: int, reason: str) -> None:
        attempts = await self._inbound.record_failure(journal_id, reason[:500])
        if attempts >= MAX_ATTEMPTS:
            await self._inbound.quarantine(journal_id, reason[:500])
            log.error("update in journal row %s quarantined after %s attempts", journal_id,
                      attempts)

    async def _done(self, update_id: int) -> None:
        async with self.progress:
            self.last_update_id = max(self.last_update_id, update_id)
            self.progress.notify_all()

    async def wait_processed(self, update_id: int) -> None:
        """Until the update with this id (and every one before it) has been handled."""
        async with self.progress:
            await self.progress.wait_for(lambda: self.last_update_id >= update_id)


def _raw(updates: Sequence[Update], sent: dict[int, dict[str, Any]]) -> list[tuple[int, bytes]]:
    """What the journal keeps of each update: the JSON as Telegram sent it."""
    return [(u.update_id, json.dumps(sent.get(u.update_id) or u.to_dict()).encode())
            for u in updates]


def _log_poll_error(exc: TelegramError, delay: float) -> None:
    if isinstance(exc, InvalidToken):
        log.error("Telegram refuses the bot token while polling (revoked?); retrying in %.1f s",
                  delay)
    elif isinstance(exc, Conflict):
        log.error("another process is polling this bot token (409 Conflict): only one may; "
                  "retrying in %.1f s", delay)
    else:
        log.warning("getUpdates failed (%s); retrying in %.1f s", exc, delay)
