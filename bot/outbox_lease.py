"""Outbox leases kept alive while a worker holds rows.

A claim leases rows for `LEASE` only; the worker renews the lease of the rows it still holds
every `RENEW_EVERY` while it renders, waits on a throttled chat or talks to a slow relay.
A worker killed with -9 stops renewing, so another worker on the same database takes its
rows within one `LEASE` (a minute), not after a long fixed lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection

from engine.outbox import OutboxQueue
from engine.ports import Clock

log = logging.getLogger("ticketbot.outbox")

LEASE = dt.timedelta(seconds=60)
RENEW_EVERY = LEASE / 3  # two renewals may fail (a database hiccup) before the lease runs out


def _every(period: dt.timedelta) -> Callable[[], Awaitable[None]]:
    async def tick() -> None:
        await asyncio.sleep(period.total_seconds())
    return tick


class LeaseKeeper:
    """Renews the lease of the rows `held()` names, on each `tick` while `kept()` is open."""

    def __init__(self, outbox: OutboxQueue, clock: Clock, held: Callable[[], Collection[int]],
                 *, lease: dt.timedelta = LEASE,
                 tick: Callable[[], Awaitable[None]] | None = None) -> None:
        self._outbox = outbox
        self._clock = clock
        self._held = held
        self.lease = lease
        self._tick = tick or _every(RENEW_EVERY)

    async def beat(self) -> int:
        """Renew now; how many rows are still ours."""
        ids = list(self._held())
        if not ids:
            return 0
        return await self._outbox.renew(ids, self._clock.now(), self.lease)

    async def _keep(self) -> None:
        while True:
            await self._tick()
            try:
                await self.beat()
            except Exception:  # noqa: BLE001 - the next beat tries again; the lease has slack
                log.exception("outbox lease renewal failed")

    @contextlib.asynccontextmanager
    async def kept(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._keep(), name="outbox-lease")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
