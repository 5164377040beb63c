"""The inbox port alone: the migrated database and `Inbox`, without the bus, its reactors
or any service. `ticketbot mail fetch --once` stores new mail through it, and builds the
whole application (bot/bootstrap.py) only when mail waits to be processed: a cron poll of
an empty mailbox, the common case, does not import or assemble what processing needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from config.settings import Settings
from engine.inbox import Inbox
from engine.store.db import make_engine
from engine.store.inbound import InboundStore
from engine.store.migrate import upgrade


@asynccontextmanager
async def inbox_only(settings: Settings) -> AsyncIterator[Inbox]:
    await upgrade(settings.database_url)
    db = make_engine(settings.database_url)
    try:
        yield InboundStore(db)
    finally:
        await db.dispose()
