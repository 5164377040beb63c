"""A throw-away PostgreSQL database for a benchmark run, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


@asynccontextmanager
async def scratch_pg(base_url: str) -> AsyncIterator[str]:
    base = make_url(base_url)
    name = f"tb_bench_{secrets.token_hex(4)}"
    # CREATE/DROP DATABASE cannot run in a transaction, hence AUTOCOMMIT.
    admin = create_async_engine(base.set(database="postgres"), poolclass=NullPool,
                                isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
