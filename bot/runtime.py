"""What every channel and job is built from: the engine's ports, one instance per process,
made by `bot.bootstrap`. No database engine: channels reach storage only through ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings
from engine.bus import MessageBus
from engine.inbox import Inbox
from engine.outbox import OutboxQueue
from engine.ports import UnitOfWorkFactory
from engine.views import Views


class Service(Protocol):
    """A long-running part of the bot (a mail listener, the Telegram poller, a worker)."""

    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    bus: MessageBus
    outbox: OutboxQueue
    inbound: Inbox
    views: Views
    secret: bytes


@dataclass(frozen=True)
class App(Runtime):
    """The runtime the channels see, plus what only the process owner and its scheduled
    jobs hold: the database engine, and the services to start."""

    db: AsyncEngine = field(kw_only=True)
    # The engine's units of work, for tests and tools that read the state directly.
    uow: UnitOfWorkFactory = field(kw_only=True)
    services: tuple[Service, ...] = field(default=(), kw_only=True)

    async def close(self) -> None:
        await self.db.dispose()
