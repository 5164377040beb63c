"""Where one mail's work goes: the service's own transactions (one per step), or a batch
that shares one transaction (`engine.inbox.Inbox.batch`). Reads in a batch see what the
earlier mails of the batch wrote; answers queued in a batch commit with the mail's work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from bot.runtime import Runtime
from engine.bus import MessageBus
from engine.inbox import IntakeBatch
from engine.ports import OutboxItem
from engine.views import Reading


@dataclass(frozen=True)
class Session:
    bus: MessageBus
    reading: Callable[[], AbstractAsyncContextManager[Reading]]
    enqueue: Callable[[OutboxItem], Awaitable[bool]]


def direct(rt: Runtime) -> Session:
    return Session(rt.bus, rt.views.reading, rt.outbox.enqueue)


def batched(rt: Runtime, tx: IntakeBatch) -> Session:
    return Session(tx.bus(rt.bus), tx.reading, tx.enqueue)
