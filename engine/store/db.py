"""The async engine: one per process, built from a URL; nothing connects at import.

SQLite gets the setup measured in docs/libraries.md §9: WAL, synchronous=NORMAL,
busy_timeout, foreign keys, and `BEGIN IMMEDIATE` so that concurrent writers queue on
the lock instead of failing with "database is locked".
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from engine.store import sqlite_onehop

log = logging.getLogger("ticketbot.store")

BUSY_TIMEOUT_MS = 5000
# Execution option that makes the SQLite `begin` hook open a plain (deferred) read
# transaction: readers must not take the write lock that BEGIN IMMEDIATE takes.
READ_ONLY = "ticketbot_read_only"
# With READ_ONLY on SQLite: the statements run on the event loop's thread, not aiosqlite's
# (engine/store/sqlite_onehop.py). In WAL mode a reader never waits for a writer, so a few
# point lookups cost tens of µs instead of a thread hop each; only for small reads that a
# person waits on (a chat answer), never for scans.
QUICK = "ticketbot_quick"

Insert = sqlite.Insert | postgresql.Insert


def default_url() -> str:
    return "sqlite+aiosqlite:///" + "./data/ticketbot.db"


def make_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _create_parent_dir(parsed)
        engine = create_async_engine(_one_hop(parsed))
        _install_sqlite_hooks(engine)
    else:
        engine = create_async_engine(parsed, pool_pre_ping=True)
    # Never log the password: render_as_string masks it.
    log.debug("database %s", parsed.render_as_string(hide_password=True))
    return engine


def _one_hop(url: URL) -> URL:
    """aiosqlite, driven one thread hop per statement (engine/store/sqlite_onehop.py)."""
    if url.drivername != "sqlite+aiosqlite":
        return url
    sqlite_onehop.register()
    return url.set(drivername=sqlite_onehop.DRIVER)


def _create_parent_dir(url: URL) -> None:
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    event.listen(engine.sync_engine, "connect", _on_connect)
    event.listen(engine.sync_engine, "begin", _on_begin)


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 driver; `_on_begin` emits it instead.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL",
                   f"busy_timeout={BUSY_TIMEOUT_MS}", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _on_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front, so busy_timeout applies to it; a deferred
    # transaction that later writes fails at once with SQLITE_BUSY (libraries.md §9).
    options = conn.get_execution_options()
    mode = "DEFERRED" if options.get(READ_ONLY) else "IMMEDIATE"
    if mode == "DEFERRED" and options.get(QUICK):
        sqlite_onehop.read_inline(conn.connection.dbapi_connection)
    conn.exec_driver_sql(f"BEGIN {mode}")


def contended(conn: AsyncConnection) -> bool:
    """Another writer of this process waits for the database `conn` writes (SQLite's one
    lock, engine/store/sqlite_onehop.py); never on PostgreSQL, which locks rows."""
    sync = conn.sync_connection
    return sync is not None and sqlite_onehop.contended(sync.connection.dbapi_connection)


def insert(dialect: Dialect, table: Table) -> Insert:
    """An INSERT that knows ON CONFLICT on both backends."""
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@asynccontextmanager
async def reading(engine: AsyncEngine, *, quick: bool = False) -> AsyncIterator[AsyncConnection]:
    """A connection for a consistent multi-statement read that blocks no writer; `quick`:
    a few small lookups someone waits on (SQLite runs them without a thread hop: QUICK)."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ",
                                         postgresql_readonly=True)
        else:
            await conn.execution_options(**{READ_ONLY: True, QUICK: quick})
        async with conn.begin():
            yield conn
