"""The outbox port: what channels deliver. The engine's reactors enqueue rows inside the
command's transaction (`engine.ports.Outbox`); delivery workers claim them under a lease,
send them outside any transaction, then mark them sent or failed. SQL adapter:
`engine/store/outbox.py`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.backoff import OUTBOX_RETRY
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem


def next_retry(attempts: int, now: dt.datetime) -> dt.datetime:
    """When a row that failed `attempts` times is tried again (`OUTBOX_RETRY`)."""
    return OUTBOX_RETRY.after(attempts, now)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    key: str
    channel: str
    recipient: str
    kind: NoticeKind
    ticket: int | None
    person_id: int | None
    language: str
    payload: dict[str, Any]
    created_at: dt.datetime
    not_before: dt.datetime | None
    next_try: dt.datetime | None
    attempts: int
    last_error: str | None
    lease_until: dt.datetime | None
    sent_at: dt.datetime | None
    failed_at: dt.datetime | None
    meta: dict[str, Any] | None
    cause: int | None = None


@dataclass(frozen=True)
class Mark:
    """How one claimed row ended: sent (with the `meta` it went out with), to be retried at
    `retry_at`, or given up (failed, `retry_at` None)."""

    id: int
    sent: bool
    meta: dict[str, Any] | None = None
    error: str | None = None
    retry_at: dt.datetime | None = None


class OutboxQueue(Protocol):
    async def enqueue(self, item: OutboxItem) -> bool: ...
    async def enqueue_all(self, items: Sequence[OutboxItem]) -> int: ...
    async def record_sent_ref(self, ref: str, ticket: int) -> None: ...
    async def sent_to(self, channel: str, recipient: str, kinds: Sequence[str],
                      since: dt.datetime) -> list[OutboxRow]:
        """Rows of these kinds sent to `recipient` at or after `since` (the automatic-mail
        cap reads them: it is kept in the database, shared by every sender process)."""
        ...
    async def sent_to_any(self, channel: str, recipients: Sequence[str], kinds: Sequence[str],
                          since: dt.datetime) -> list[OutboxRow]:
        """`sent_to` for several recipients in one read (a sender's whole batch)."""
        ...
    async def record_sent_refs(self, refs: Sequence[tuple[str, int]]) -> None:
        """`record_sent_ref` for (Message-ID, ticket) pairs in one transaction."""
        ...
    async def claim(self, channel: str, now: dt.datetime, limit: int,
                    lease: dt.timedelta) -> list[OutboxRow]: ...
    async def renew(self, ids: Sequence[int], now: dt.datetime, lease: dt.timedelta) -> int:
        """Extend to `now + lease` the lease of those of `ids` still leased and unsettled (a
        heartbeat of the worker holding them); how many were."""
        ...
    async def mark_sent(self, id: int, now: dt.datetime, meta: dict[str, Any]) -> None: ...
    async def mark_failed(self, id: int, now: dt.datetime, error: str,
                          retry_at: dt.datetime | None) -> None: ...
    async def mark_all(self, now: dt.datetime, marks: Sequence[Mark]) -> None:
        """`mark_sent` / `mark_failed` of a whole batch in one transaction."""
        ...
    async def pending_count(self, channel: str) -> int: ...
    async def get(self, id: int) -> OutboxRow | None: ...
    async def by_key(self, key: str) -> OutboxRow | None: ...
