"""Where one mail's work goes: the service's own transactions (one per step), or a batch
that shares one transaction (`engine.inbox.Inbox.batch`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.runtime import Runtime
from engine.bus import MessageBus
from engine.inbox import IntakeBatch
from engine.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class Session:
    uow: UnitOfWorkFactory
    bus: MessageBus


def direct(rt: Runtime) -> Session:
    return Session(rt.uow, rt.bus)


def batched(rt: Runtime, tx: IntakeBatch) -> Session:
    return Session(tx.uow, tx.bus(rt.bus))
