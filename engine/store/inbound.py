"""Inbound messages as received, before the engine acts on them.

Intake is idempotent: a message is stored once per (channel, external id), so a mailbox
re-scan or a Telegram update delivered twice is recognised and skipped. A stored message
stays `pending` until it is finished (done/ignored) or quarantined after failing too often.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.inbox import FINAL_STATUSES, InboundRow, IntakeBatch, MailboxState, RawMail
from engine.ports import Clock
from engine.store import claims, intake_batch
from engine.store.db import insert, reading
from engine.store.tables import inbound, mailbox_state, suppressed_addresses


def _row(row: Row[Any]) -> InboundRow:
    values = dict(row._mapping)
    if values["raw"] is not None:
        values["raw"] = bytes(values["raw"])  # asyncpg/sqlite may hand back memoryview
    return InboundRow(**values)


def _address(address: str) -> str:
    return address.strip().lower()


class InboundStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def store(self, channel: str, external_id: str, raw: bytes | None,
                    received_at: dt.datetime, mailbox: str | None = None,
                    uid: int | None = None) -> int | None:
        """The new row's id, or None when this message was stored before."""
        async with self._engine.begin() as conn:
            stmt = (insert(conn.dialect, inbound).values(
                channel=channel, external_id=external_id, raw=raw, received_at=received_at,
                mailbox=mailbox, uid=uid, status="pending", created_at=dt.datetime.now(dt.UTC),
            ).on_conflict_do_nothing(index_elements=["channel", "external_id"])
             .returning(inbound.c.id))
            new_id: int | None = (await conn.execute(stmt)).scalar_one_or_none()
        return new_id

    async def store_mails(self, channel: str, mails: Sequence[RawMail], now: dt.datetime,
                          state: tuple[str, int, int] | None = None) -> list[int | None]:
        """A whole fetch batch in one commit (a mail stored before: None), with the mailbox's
        (name, uidvalidity, last uid)."""
        return await intake_batch.store_mails(self._engine, channel, mails, now, state)

    def batch(self, clock: Clock) -> AbstractAsyncContextManager[IntakeBatch]:
        return intake_batch.shared(self._engine, clock)

    def claim(self, row_id: int) -> AbstractAsyncContextManager[bool]:
        return claims.claim_row(self._engine, row_id)

    async def pending(self, channel: str, limit: int, *,
                      after: int = 0) -> list[InboundRow]:
        stmt = (select(inbound).where(inbound.c.channel == channel,
                                      inbound.c.status == "pending", inbound.c.id > after)
                .order_by(inbound.c.id).limit(limit))
        async with reading(self._engine) as conn:
            return [_row(r) for r in await conn.execute(stmt)]

    async def ignored(self, channel: str, since: dt.datetime,
                      until: dt.datetime | None = None) -> list[InboundRow]:
        stmt = (select(inbound).where(inbound.c.channel == channel,
                                      inbound.c.status == "ignored",
                                      inbound.c.received_at >= since)
                .order_by(inbound.c.received_at, inbound.c.id))
        if until is not None:
            stmt = stmt.where(inbound.c.received_at < until)
        async with reading(self._engine) as conn:
            return [_row(r) for r in await conn.execute(stmt)]

    async def get(self, id: int) -> InboundRow | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(select(inbound).where(inbound.c.id == id))).one_or_none()
        return None if row is None else _row(row)

    async def find(self, channel: str, external_id: str) -> InboundRow | None:
        stmt = select(inbound).where(inbound.c.channel == channel,
                                     inbound.c.external_id == external_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else _row(row)

    async def note(self, id: int, reason: str) -> None:
        await self._update(id, reason=reason)

    async def finish(self, id: int, status: str, ticket: int | None, reason: str | None,
                     rule: str | None) -> None:
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {sorted(FINAL_STATUSES)}, not {status!r}")
        await self._update(id, status=status, ticket=ticket, reason=reason, rule=rule)

    async def record_failure(self, id: int, reason: str) -> int:
        """Count one failed processing attempt; returns the attempts so far, so the caller
        can quarantine after N."""
        stmt = (update(inbound).where(inbound.c.id == id)
                .values(attempts=inbound.c.attempts + 1, reason=reason)
                .returning(inbound.c.attempts))
        async with self._engine.begin() as conn:
            attempts: int = (await conn.execute(stmt)).scalar_one()
        return attempts

    async def quarantine(self, id: int, reason: str) -> None:
        await self._update(id, status="quarantined", reason=reason)

    async def quarantined(self, channel: str, limit: int) -> list[InboundRow]:
        stmt = (select(inbound).where(inbound.c.channel == channel,
                                      inbound.c.status == "quarantined")
                .order_by(inbound.c.id.desc()).limit(limit))
        async with reading(self._engine) as conn:
            return [_row(r) for r in await conn.execute(stmt)]

    async def rescue(self, id: int) -> bool:
        stmt = (update(inbound).where(inbound.c.id == id, inbound.c.status == "quarantined")
                .values(status="pending", attempts=0).returning(inbound.c.id))
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def mailbox_state(self, mailbox: str) -> MailboxState | None:
        stmt = select(mailbox_state).where(mailbox_state.c.mailbox == mailbox)
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else MailboxState(row.uidvalidity, row.last_uid)

    async def set_mailbox_state(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        async with self._engine.begin() as conn:
            stmt = insert(conn.dialect, mailbox_state).values(
                mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid)
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=["mailbox"],
                set_={"uidvalidity": stmt.excluded.uidvalidity,
                      "last_uid": stmt.excluded.last_uid}))

    async def is_suppressed(self, address: str) -> bool:
        stmt = select(suppressed_addresses.c.address).where(
            suppressed_addresses.c.address == _address(address))
        async with reading(self._engine) as conn:
            return (await conn.execute(stmt)).first() is not None

    async def suppressed(self) -> frozenset[str]:
        async with reading(self._engine) as conn:
            rows = await conn.execute(select(suppressed_addresses.c.address))
            return frozenset(row.address for row in rows)

    async def _update(self, id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(inbound).where(inbound.c.id == id).values(**values))
