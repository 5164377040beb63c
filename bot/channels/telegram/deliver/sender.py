"""The outbox worker for channel "telegram".

Rows are claimed under a lease and handed to one lane per chat: a chat's messages go out
one after the other in outbox order, while a throttled group (about 20 messages a minute)
does not hold up private answers. When a message must wait (429, 5xx, dropped connection),
the rest of its chat waits behind it, and a later row never overtakes an earlier one still
waiting in the table (after a restart included). Rows on lanes keep their short lease renewed
(bot/outbox_lease.py): a throttled chat may hold them for minutes, and a killed worker's rows
go to another within a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from bot.channels.telegram.deliver.delivery import Delivery, GiveUp, Outcome, Retry, Sent
from bot.channels.telegram.ports import CHANNEL, ChatStore
from bot.outbox_lease import LeaseKeeper
from engine.outbox import OutboxQueue, OutboxRow, next_retry
from engine.ports import Clock

log = logging.getLogger("ticketbot.telegram")

BATCH = 50
IDLE_SECONDS = 1.0  # rows other parts queue (mail tickets, SLA alerts) are found this late
HOLD = dt.timedelta(seconds=5)  # how long to wait behind an earlier row leased elsewhere
CRASH_ATTEMPTS = 5  # a row that breaks our own code: given up after this many tries


class Sender:
    def __init__(self, outbox: OutboxQueue, delivery: Delivery, store: ChatStore,
                 clock: Clock, idle_seconds: float = IDLE_SECONDS,
                 lease_tick: Callable[[], Awaitable[None]] | None = None) -> None:
        self._outbox = outbox
        self._delivery = delivery
        self._store = store
        self._clock = clock
        self._idle = idle_seconds
        self._wake = asyncio.Event()
        self._queues: dict[str, deque[OutboxRow]] = {}
        self._lanes: dict[str, asyncio.Task[None]] = {}
        self._inflight: set[int] = set()
        self._held: dict[str, dt.datetime] = {}
        # Chats whose every earlier row this process has seen through: nothing waits there,
        # so the table need not be asked (it is asked for each chat once after a start).
        self._clear: set[str] = set()
        self._stopping = False
        self._claiming = asyncio.Lock()  # lanes get their rows in claim order
        self.lease = LeaseKeeper(outbox, clock, lambda: self._inflight, tick=lease_tick)

    def wake(self) -> None:
        self._wake.set()

    def quiet(self, chat_id: int) -> bool:
        """Everything this process queued for the chat has gone out and nothing waits for a
        retry there: an answer sent now overtakes nothing (act/quick.py)."""
        chat = str(chat_id)
        return chat in self._clear and chat not in self._held and \
            chat not in self._queues and chat not in self._lanes

    async def run(self) -> None:
        async with self.lease.kept():
            await self._loop()

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.cycle()
            except Exception:  # noqa: BLE001 - the worker outlives a database hiccup
                log.exception("telegram outbox cycle failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle)

    async def cycle(self) -> int:
        """Claim due rows and put them on their chats' lanes; returns how many."""
        async with self._claiming:
            rows = await self._outbox.claim(CHANNEL, self._clock.now(), BATCH,
                                           self.lease.lease)
            fresh = [r for r in rows if r.id not in self._inflight]
            self._dispatch(fresh)
        return len(fresh)

    def _dispatch(self, fresh: list[OutboxRow]) -> None:
        for row in fresh:
            self._inflight.add(row.id)
            self._queues.setdefault(row.recipient, deque()).append(row)
            if row.recipient not in self._lanes:
                self._lanes[row.recipient] = asyncio.create_task(
                    self._lane(row.recipient), name=f"telegram-lane-{row.recipient}")

    async def drain(self) -> None:
        """Until nothing due is left and every lane is done (what tests wait on)."""
        while await self.cycle() or self._lanes:
            await asyncio.gather(*self._lanes.values(), return_exceptions=True)

    async def _lane(self, chat: str) -> None:
        queue = self._queues[chat]
        try:
            while queue and not self._stopping:
                row = queue.popleft()
                try:
                    await self._one(row)
                except Exception as exc:  # noqa: BLE001 - one bad row must not stop its chat
                    log.exception("telegram outbox row %s failed", row.id)
                    self._clear.discard(chat)
                    await self._crashed(row, exc)
                finally:
                    self._inflight.discard(row.id)
        finally:
            del self._lanes[chat]
            if not queue:
                del self._queues[chat]

    async def _crashed(self, row: OutboxRow, exc: Exception) -> None:
        """A row our own code fails on is retried with the backoff, then set aside with the
        reason: it must not hold its chat's later messages back for ever."""
        now = self._clock.now()
        retry = None if row.attempts >= CRASH_ATTEMPTS else next_retry(row.attempts, now)
        await self._outbox.mark_failed(row.id, now, f"crashed: {type(exc).__name__}: {exc}"[:500],
                                       retry)

    async def _one(self, row: OutboxRow) -> None:
        now = self._clock.now()
        wait = await self._wait_for(row, now)
        if wait is not None:
            await self._outbox.mark_failed(row.id, now, "waiting behind an earlier message",
                                           wait)
            return
        await self._settle(row, await self._delivery.deliver(row))

    async def _wait_for(self, row: OutboxRow, now: dt.datetime) -> dt.datetime | None:
        """When this row may go, if not now: per-chat order is kept across retries."""
        held = self._held.get(row.recipient)
        if held is not None and held > now:
            return held
        if row.recipient in self._clear:
            return None
        earlier = await self._store.earlier_unsent(row.recipient, row.id, now)
        if earlier is None or earlier[0] in self._inflight:
            return None
        _, next_try = earlier
        return next_try if next_try is not None and next_try > now else now + HOLD

    async def _settle(self, row: OutboxRow, outcome: Outcome) -> None:
        now = self._clock.now()
        if isinstance(outcome, Sent):
            self._held.pop(row.recipient, None)
            self._clear.add(row.recipient)
            await self._outbox.mark_sent(row.id, now, outcome.meta)
        elif isinstance(outcome, Retry):
            self._held[row.recipient] = outcome.at
            self._clear.discard(row.recipient)
            log.warning("telegram row %s to chat %s waits until %s: %s", row.id,
                        row.recipient, outcome.at.isoformat(), outcome.error)
            await self._outbox.mark_failed(row.id, now, outcome.error, outcome.at)
        elif isinstance(outcome, GiveUp):
            log.warning("telegram row %s (%s) to chat %s given up: %s", row.id, row.kind,
                        row.recipient, outcome.error)
            await self._outbox.mark_failed(row.id, now, outcome.error, None)

    async def stop(self) -> None:
        """Let the messages being sent finish, give the queued ones back to the table."""
        self._stopping = True
        self._wake.set()
        lanes = list(self._lanes.values())
        if lanes:
            await asyncio.wait(lanes, timeout=5)
        for task in lanes:
            task.cancel()
        now = self._clock.now()
        for queue in list(self._queues.values()):
            for row in queue:
                await self._outbox.mark_failed(row.id, now, "service stopped", now)
        self._queues.clear()
