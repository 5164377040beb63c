"""One leader among several workers on one PostgreSQL: the pollers (IMAP IDLE, Telegram
getUpdates) and the scheduler run only in the worker that holds a session-level advisory
lock on a connection of its own; SMTP intake, mail processing and the outbox senders run in
every worker (their rows are claimed, so nothing is done twice).

The others retry the lock every `retry` seconds. PostgreSQL drops the lock with the
leader's connection, so when the leader dies (even kill -9) another worker takes over
within a retry or two; a leader that finds its lock connection gone stops its pollers at
once, since another worker may already hold the lock. A new leader waits `grace` (two of
the leader's checks) before it starts anything, so that a leader whose connection was cut,
rather than its process killed, has stopped polling by then: never two pollers at once.

On SQLite there is one process (`engine/store/single_process.py`), so it leads alone and
`leading()` returns the services themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.runtime import Service
from engine.store.claims import LOCK_SPACE

log = logging.getLogger("ticketbot.leader")

LEADER_KEY = 1       # second key of the leader's advisory lock (first: LOCK_SPACE)
RETRY = 1.0          # seconds between a follower's attempts to take the lock
CHECK = 1.0          # seconds between the leader's checks of its lock connection
CHECK_TIMEOUT = 5.0  # a check that takes longer counts as a lost connection
GRACE = 2 * CHECK    # a new leader's wait for the old one to notice


def leading(db: AsyncEngine, services: Sequence[Service]) -> list[Service]:
    """The services that must run once: behind the leader lock where workers share a
    database, as they are where one process owns it."""
    if not services:
        return []
    if db.dialect.name != "postgresql":
        return list(services)
    return [Leadership(db, services)]


class Leadership:
    """Runs `services` while this worker holds the leader lock."""

    def __init__(self, db: AsyncEngine, services: Sequence[Service], *,
                 retry: float = RETRY, check: float = CHECK, grace: float = GRACE) -> None:
        self.db = db
        self.services = tuple(services)
        self.retry = retry
        self.check = check
        self.grace = grace
        self.name = "leader of " + ", ".join(s.name for s in self.services)
        self.leading = asyncio.Event()  # set while the services run here
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="leader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        waiting_said = False
        while True:
            conn = await self._take_lock()
            if conn is None:
                if not waiting_said:
                    log.info("follower: another worker leads; retrying every %ss", self.retry)
                    waiting_said = True
                await asyncio.sleep(self.retry)
                continue
            waiting_said = False
            try:
                await self._lead(conn)
            except Exception:  # a service that cannot start: let another worker try
                log.exception("leader: giving up the lead")
                await asyncio.sleep(self.retry)
            finally:
                await _drop(conn)

    async def _take_lock(self) -> AsyncConnection | None:
        """An autocommit connection holding the lock, or None (taken, or no database)."""
        conn: AsyncConnection | None = None
        try:
            conn = await self.db.connect()
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = (await conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"),
                                      {"a": LOCK_SPACE, "b": LEADER_KEY})).scalar_one()
        except Exception as exc:  # unreachable database: try again later
            log.warning("leader lock: %s: %s", type(exc).__name__, exc)
            got = False
        if got:
            return conn
        if conn is not None:
            await _drop(conn)
        return None

    async def _lead(self, conn: AsyncConnection) -> None:
        await asyncio.sleep(self.grace)
        log.info("leader: this worker runs %s", ", ".join(s.name for s in self.services))
        started: list[Service] = []
        try:
            for service in self.services:
                await service.start()
                started.append(service)
            self.leading.set()
            while await self._alive(conn):
                await asyncio.sleep(self.check)
            log.warning("leader: lost the lock's database connection; stopping %s",
                        ", ".join(s.name for s in started))
        finally:
            self.leading.clear()
            for service in reversed(started):
                await service.stop()

    async def _alive(self, conn: AsyncConnection) -> bool:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await conn.execute(text("SELECT 1"))
        except Exception:  # any failure: the lock may be gone
            return False
        return True


async def _drop(conn: AsyncConnection) -> None:
    """Close the connection itself (not back to the pool: the lock would stay held)."""
    with contextlib.suppress(Exception):
        await conn.invalidate()
    with contextlib.suppress(Exception):
        await conn.close()
