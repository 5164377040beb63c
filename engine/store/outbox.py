"""The delivery side of the outbox: workers claim rows under a lease, send them outside
any transaction, then mark them sent or failed.

A claim is one statement that sets `lease_until`, so two workers never hold the same row:
on PostgreSQL its inner SELECT takes the rows FOR UPDATE SKIP LOCKED; on SQLite the
`BEGIN IMMEDIATE` write lock already serialises claimers. A worker that dies mid-send
loses its lease when it runs out, and the row is claimed again: leases are short and the
living worker renews them (`renew`, driven by `bot/outbox_lease.py`).

A row whose stored kind names no `NoticeKind` (written by a newer version, or by hand) is
given up at its claim with `unknown kind X`, for every channel alike: no sender ever holds
a kind it cannot switch on, and such a row is not retried for ever.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.notify.kinds import UnknownNoticeKind, notice_kind
from engine.outbox import Mark, OutboxRow
from engine.ports import OutboxItem, SystemClock
from engine.store.db import reading
from engine.store.tables import outbox
from engine.store.uow import SqlOutbox, SqlRefs

log = logging.getLogger("ticketbot.outbox")


def _row(row: Row[Any]) -> OutboxRow:
    """Raises `UnknownNoticeKind` for a kind no member names."""
    values = dict(row._mapping)
    values["kind"] = notice_kind(values["kind"])
    return OutboxRow(**values)


def _due(now: dt.datetime) -> Any:
    c = outbox.c
    return (c.sent_at.is_(None), c.failed_at.is_(None),
            or_(c.next_try.is_(None), c.next_try <= now),
            or_(c.not_before.is_(None), c.not_before <= now),
            or_(c.lease_until.is_(None), c.lease_until <= now))


async def _known(conn: AsyncConnection, row: Row[Any], now: dt.datetime) -> bool:
    """False, and the row given up in the claim's own transaction, for an unknown kind."""
    try:
        notice_kind(row.kind)
    except UnknownNoticeKind as exc:
        log.error("outbox row %s (%s to %s) given up: %s", row.id, row.channel,
                  row.recipient, exc)
        await conn.execute(update(outbox).where(outbox.c.id == row.id).values(
            last_error=str(exc), lease_until=None, next_try=None, failed_at=now))
        return False
    return True


_MARK_SENT = (update(outbox).where(outbox.c.id == bindparam("row"))
              .values(sent_at=bindparam("m_now", type_=outbox.c.sent_at.type),
                      meta=bindparam("m_meta", type_=outbox.c.meta.type), lease_until=None))
_MARK_FAILED = (update(outbox).where(outbox.c.id == bindparam("row"))
                .values(last_error=bindparam("m_error", type_=outbox.c.last_error.type),
                        lease_until=None,
                        next_try=bindparam("m_retry", type_=outbox.c.next_try.type),
                        failed_at=bindparam("m_failed", type_=outbox.c.failed_at.type)))


class OutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def enqueue(self, item: OutboxItem) -> bool:
        """Outside a command (a channel's own answer); False when the key is there."""
        return await self.enqueue_all([item]) == 1

    async def enqueue_all(self, items: Sequence[OutboxItem]) -> int:
        """All in one transaction; how many were new."""
        async with self._engine.begin() as conn:
            queue = SqlOutbox(conn, SystemClock())
            return sum([await queue.enqueue(item) for item in items])

    async def record_sent_ref(self, ref: str, ticket: int) -> None:
        """The Message-ID of a mail about to go out, under its ticket: recorded before
        sending, because a reply may come back faster than `mark_sent` runs."""
        async with self._engine.begin() as conn:
            await SqlRefs(conn, SystemClock()).add(ref, ticket, "out")

    async def record_sent_refs(self, refs: Sequence[tuple[str, int]]) -> None:
        if not refs:
            return
        async with self._engine.begin() as conn:
            await SqlRefs(conn, SystemClock()).add_all(refs, "out")

    async def sent_to(self, channel: str, recipient: str, kinds: Sequence[str],
                      since: dt.datetime) -> list[OutboxRow]:
        return await self.sent_to_any(channel, [recipient], kinds, since)

    async def sent_to_any(self, channel: str, recipients: Sequence[str], kinds: Sequence[str],
                          since: dt.datetime) -> list[OutboxRow]:
        if not recipients:
            return []
        stmt = (select(outbox).where(outbox.c.channel == channel,
                                     outbox.c.recipient.in_(sorted(set(recipients))),
                                     outbox.c.kind.in_(list(kinds)),
                                     outbox.c.sent_at >= since)
                .order_by(outbox.c.id))
        async with reading(self._engine) as conn:
            return [_row(r) for r in (await conn.execute(stmt)).all()]

    async def claim(self, channel: str, now: dt.datetime, limit: int,
                    lease: dt.timedelta) -> list[OutboxRow]:
        """Take up to `limit` due rows for `now + lease`; each claim counts as an attempt,
        so a message that kills its worker is not retried for ever unnoticed."""
        chosen = (select(outbox.c.id).where(outbox.c.channel == channel, *_due(now))
                  .order_by(outbox.c.id).limit(limit)
                  .with_for_update(skip_locked=True))  # rendered on PostgreSQL only
        stmt = (update(outbox).where(outbox.c.id.in_(chosen))
                .values(lease_until=now + lease, attempts=outbox.c.attempts + 1)
                .returning(*outbox.columns))
        async with self._engine.begin() as conn:
            rows = [r for r in (await conn.execute(stmt)).all()
                    if await _known(conn, r, now)]
        return sorted((_row(r) for r in rows), key=lambda r: r.id)

    async def renew(self, ids: Sequence[int], now: dt.datetime, lease: dt.timedelta) -> int:
        """Only a live lease is renewed: a row already marked (its lease cleared) or whose
        lease ran out (the row is anyone's again) is left alone."""
        stmt = (update(outbox).where(outbox.c.id.in_(list(ids)), outbox.c.sent_at.is_(None),
                                     outbox.c.failed_at.is_(None), outbox.c.lease_until > now)
                .values(lease_until=now + lease))
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount

    async def mark_sent(self, id: int, now: dt.datetime, meta: dict[str, Any]) -> None:
        await self._update(id, sent_at=now, meta=meta, lease_until=None)

    async def mark_failed(self, id: int, now: dt.datetime, error: str,
                          retry_at: dt.datetime | None) -> None:
        """Retry at `retry_at`, or give up for good when it is None (last_error stays)."""
        await self._update(id, last_error=error, lease_until=None, next_try=retry_at,
                           failed_at=now if retry_at is None else None)

    async def mark_all(self, now: dt.datetime, marks: Sequence[Mark]) -> None:
        """One transaction and one statement per outcome, whatever the batch's size."""
        sent = [{"row": m.id, "m_meta": m.meta} for m in marks if m.sent]
        failed = [{"row": m.id, "m_error": m.error, "m_retry": m.retry_at,
                   "m_failed": now if m.retry_at is None else None}
                  for m in marks if not m.sent]
        async with self._engine.begin() as conn:
            if sent:
                await conn.execute(_MARK_SENT, [{**v, "m_now": now} for v in sent])
            if failed:
                await conn.execute(_MARK_FAILED, failed)

    async def pending_count(self, channel: str) -> int:
        stmt = select(func.count()).select_from(outbox).where(
            outbox.c.channel == channel, outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None))
        async with reading(self._engine) as conn:
            count: int = (await conn.execute(stmt)).scalar_one()
        return count

    async def get(self, id: int) -> OutboxRow | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(select(outbox).where(outbox.c.id == id))).one_or_none()
        return None if row is None else _row(row)

    async def by_key(self, key: str) -> OutboxRow | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(select(outbox).where(outbox.c.key == key))).one_or_none()
        return None if row is None else _row(row)

    async def release_leases(self) -> int:
        """Free every leased, unsent row: only for the one process of a SQLite database at
        its start, when any lease is a dead process's (a kill -9 mid-send) and waiting it
        out would hold those mails for minutes. How many were freed."""
        stmt = (update(outbox).where(outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None),
                                     outbox.c.lease_until.is_not(None))
                .values(lease_until=None))
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount

    async def _update(self, id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(outbox).where(outbox.c.id == id).values(**values))
