"""Shared fixtures. Keep each area's fixtures in its own marked section."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from engine.store.db import make_engine
from engine.store.migrate import upgrade

# ---------------------------------------------------------------- store: databases
# `db_url` runs a test on SQLite (a temp file) and on PostgreSQL (a database of its own,
# created and dropped around the test). Without a reachable server the PostgreSQL half
# is skipped locally but fails under CI, so a broken setup cannot pass unseen.

PG_URL = os.environ.get("TICKETBOT_TEST_PG_URL",
                        "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'ticketbot.db'}"
        return
    async with _pg_database() as url:
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database."""
    await upgrade(db_url)
    db = make_engine(db_url)
    yield db
    await db.dispose()


@asynccontextmanager
async def _pg_database() -> AsyncIterator[str]:
    base = make_url(PG_URL)
    name = f"tb_{secrets.token_hex(6)}"
    # CREATE/DROP DATABASE cannot run in a transaction, hence AUTOCOMMIT.
    admin = create_async_engine(base.set(database="postgres"), poolclass=NullPool,
                                isolation_level="AUTOCOMMIT")
    try:
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        except (OSError, SQLAlchemyError) as exc:
            _unreachable(exc)
        yield base.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def _unreachable(exc: Exception) -> NoReturn:
    reason = f"PostgreSQL at {make_url(PG_URL).render_as_string()} unusable: {exc}"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
