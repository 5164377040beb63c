"""What every channel and job is built from: one instance per process, made by `bot.app`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings
from engine.bus import MessageBus
from engine.ports import UnitOfWorkFactory
from engine.store.inbound import InboundStore
from engine.store.outbox import OutboxStore


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class Service(Protocol):
    """A long-running part of the bot (a mail listener, the Telegram poller, a worker)."""

    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    db: AsyncEngine
    uow: UnitOfWorkFactory
    bus: MessageBus
    outbox: OutboxStore
    inbound: InboundStore
    secret: bytes
