"""The inbox and outbox ports alone: the migrated database, without the bus, its reactors
or any service. A cron command looks through them first and builds the whole application
(bot/bootstrap.py) only when there is work: `mail fetch --once` stores new mail and goes on
only when mail waits to be processed, `mail send --once` only when mail waits to be sent.
A cron poll with nothing to do, the common case, neither imports nor assembles the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from config.settings import Settings
from engine.inbox import Inbox
from engine.outbox import OutboxQueue
from engine.store.db import make_engine
from engine.store.inbound import InboundStore
from engine.store.migrate import upgrade
from engine.store.outbox import OutboxStore


@dataclass(frozen=True)
class Queues:
    inbound: Inbox
    outbox: OutboxQueue


@asynccontextmanager
async def ports_only(settings: Settings) -> AsyncIterator[Queues]:
    await upgrade(settings.database_url)
    db = make_engine(settings.database_url)
    try:
        yield Queues(InboundStore(db), OutboxStore(db))
    finally:
        await db.dispose()
