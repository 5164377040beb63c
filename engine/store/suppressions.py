"""Addresses we must not mail, written in the command's transaction (`SuppressAddress`);
the outbox sender reads them through `InboundStore.is_suppressed`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.store.db import insert
from engine.store.tables import suppressed_addresses

_UPSERT: dict[str, Any] = {}


def _upsert(conn: AsyncConnection) -> Any:
    """Built once per dialect (ON CONFLICT differs): a later bounce refreshes the reason
    and time."""
    name = conn.dialect.name
    if name not in _UPSERT:
        stmt = insert(conn.dialect, suppressed_addresses)
        _UPSERT[name] = stmt.on_conflict_do_update(
            index_elements=["address"], set_={"reason": stmt.excluded.reason,
                                              "at": stmt.excluded.at})
    return _UPSERT[name]


class SqlSuppressions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, address: str, reason: str, at: dt.datetime) -> None:
        await self._conn.execute(_upsert(self._conn), {
            "address": address.strip().lower(), "reason": reason, "at": at})

    async def remove(self, address: str) -> str | None:
        table = suppressed_addresses
        stmt = delete(table).where(table.c.address == address.strip().lower()) \
            .returning(table.c.reason)
        reason: str | None = (await self._conn.execute(stmt)).scalar_one_or_none()
        return reason
