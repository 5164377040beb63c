"""Where one mail's work goes: the service's own transactions (one per step), or a batch
that shares one transaction (`engine.inbox.Inbox.batch`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.runtime import Runtime
from engine.bus import MessageBus
from engine.inbox import IntakeBatch
from engine.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class Session:
    uow: UnitOfWorkFactory
    bus: MessageBus
    suppress: Callable[[str, str, dt.datetime], Awaitable[None]]


def direct(rt: Runtime) -> Session:
    return Session(rt.uow, rt.bus, rt.inbound.suppress)


def batched(rt: Runtime, tx: IntakeBatch) -> Session:
    return Session(tx.uow, tx.bus(rt.bus), tx.suppress)
