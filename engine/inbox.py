"""The inbox port: messages as received, before the engine acts on them, and whether an
address must not be mailed (suppressing one is the engine's `SuppressAddress`). Channels
store what arrives here and finish each row with its fate; the SQL adapter is
`engine/store/inbound.py` (one row a call) and `engine/store/intake_batch.py` (many mails
in one transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from engine.bus import MessageBus
from engine.ports import Clock, OutboxItem
from engine.views import Reading

FINAL_STATUSES = frozenset({"done", "ignored", "quarantined"})


@dataclass(frozen=True)
class InboundRow:
    id: int
    channel: str
    external_id: str
    mailbox: str | None
    uid: int | None
    received_at: dt.datetime
    raw: bytes | None
    status: str
    ticket: int | None
    reason: str | None
    rule: str | None
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True)
class MailboxState:
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class RawMail:
    """One mail fetched from a mailbox, to be stored as it came."""

    external_id: str
    raw: bytes
    received_at: dt.datetime
    mailbox: str | None = None
    uid: int | None = None


class IntakeBatch(Protocol):
    """Several mails' commands in one transaction: the bus it hands out runs on it."""

    def reading(self) -> AbstractAsyncContextManager[Reading]: ...
    async def enqueue(self, item: OutboxItem) -> bool: ...
    def bus(self, like: MessageBus) -> MessageBus: ...
    def finish(self, row_id: int, status: str, ticket: int | None, reason: str | None,
               rule: str | None) -> None: ...
    def contended(self) -> bool:
        """Another writer waits for the database this batch holds (SQLite's one lock), so
        the batch should commit what it has done and let it in."""
        ...
    async def claim(self, row_ids: Sequence[int]) -> set[int]:
        """The rows this batch now holds and that are still pending: another worker's
        rows are left to it (several workers on one PostgreSQL)."""
        ...
    async def preload_refs(self, refs: Sequence[str]) -> None:
        """Which of these message ids name no ticket yet, read in one query: the replay
        check of each mail of the batch then reads nothing."""
        ...


class Inbox(Protocol):
    async def store(self, channel: str, external_id: str, raw: bytes | None,
                    received_at: dt.datetime, mailbox: str | None = None,
                    uid: int | None = None) -> int | None: ...
    async def store_mails(self, channel: str, mails: Sequence[RawMail], now: dt.datetime,
                          state: tuple[str, int, int] | None = None) -> list[int | None]: ...
    async def pending(self, channel: str, limit: int, *,
                      after: int = 0) -> list[InboundRow]: ...
    async def get(self, id: int) -> InboundRow | None: ...
    async def ignored(self, channel: str, since: dt.datetime,
                      until: dt.datetime | None = None) -> list[InboundRow]:
        """Rows the intake left alone (status `ignored`), received in [since, until), oldest
        first: what staff list, count in the digest, and may rescue."""
        ...
    async def find(self, channel: str, external_id: str) -> InboundRow | None: ...
    async def note(self, id: int, reason: str) -> None:
        """A reason on a row still pending (the processing keeps it in front of its own)."""
        ...
    async def finish(self, id: int, status: str, ticket: int | None, reason: str | None,
                     rule: str | None) -> None: ...
    async def record_failure(self, id: int, reason: str) -> int: ...
    async def quarantine(self, id: int, reason: str) -> None: ...
    async def quarantined(self, channel: str, limit: int) -> list[InboundRow]: ...
    async def rescue(self, id: int) -> bool:
        """A quarantined row pending again with its attempts counted afresh; False when
        no such row is quarantined."""
        ...
    async def mailbox_state(self, mailbox: str) -> MailboxState | None: ...
    async def set_mailbox_state(self, mailbox: str, uidvalidity: int, last_uid: int) -> None: ...
    async def is_suppressed(self, address: str) -> bool: ...
    async def suppressed(self) -> frozenset[str]:
        """Every suppressed address (the intake reads them once per batch)."""
        ...
    def batch(self, clock: Clock) -> AbstractAsyncContextManager[IntakeBatch]: ...
    def claim(self, row_id: int) -> AbstractAsyncContextManager[bool]:
        """True while this worker holds the row and it is still pending."""
        ...
