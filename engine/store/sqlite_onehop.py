"""SQLite through aiosqlite with as few thread hops as is safe.

SQLAlchemy's aiosqlite adapter makes four round trips to aiosqlite's worker thread for
each statement (make a cursor, execute, fetch, close), and each costs a cross-thread
wake-up. Measured here, in one process, `SELECT 1` through SQLAlchemy: 420-510 µs with the
stock adapter, 190 µs with this cursor, which runs all four in one call on the worker.

Inside a write transaction it goes further: once `BEGIN IMMEDIATE` has returned, this
connection holds SQLite's write lock, and in WAL mode no statement of it can wait on another
connection, so the statement runs at once on the event loop's thread (tens of µs for the
small statements of a ticket) and skips the hop altogether. Everything that can wait -
BEGIN (busy_timeout), COMMIT, ROLLBACK, reads outside a write transaction - still runs on
the worker thread, so a busy database never blocks the loop. The sqlite3 connection is
opened with check_same_thread=False for this; the adapter's mutex keeps its use serial.

Writers queue in the process before they take SQLite's lock (`WriteGate`): SQLite serves
one `ticketbot` process (engine/store/single_process.py), and its own busy handler makes a
waiting writer sleep and retry, up to 100 ms a time, so under load a mail's short commit
waited behind a long batch's sleeps (bench/service.py). The gate hands the lock on in
arrival order at once, and a long batch can see that someone waits and commit early
(`contended`). A writer that waits longer than the busy timeout goes on to SQLite's own
handling, as before (another process on the file, a nested write).

It leans on two aiosqlite internals, `Connection._execute` (run a function on the worker
thread) and `Connection._conn` (the sqlite3 connection there); aiosqlite is pinned below
0.23 for that reason, and tests/test_store.py runs every repository through this path.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import weakref
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "sqlite+tbaiosqlite"

Result = tuple[Any, list[Any], int, int | None]


def _run(conn: sqlite3.Connection, sql: str, params: Any, many: bool) -> Result:
    """On aiosqlite's thread: the whole statement, rows and all."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, () if params is None else params)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


_BEGIN_WRITE = "BEGIN IMMEDIATE"
GATE_TIMEOUT = 5.0  # seconds; engine/store/db.py's busy timeout


class WriteGate:
    """The writers of one database file in one event loop, in arrival order."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self.waiting = 0

    async def enter(self) -> bool:
        """True once this writer holds the gate; False after GATE_TIMEOUT (go on ungated)."""
        if not self._lock.locked():
            await self._lock.acquire()
            return True
        self.waiting += 1
        try:
            await asyncio.wait_for(self._lock.acquire(), GATE_TIMEOUT)
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        return True

    def leave(self) -> None:
        self._lock.release()


_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, WriteGate]] = \
    weakref.WeakKeyDictionary()


def gate_of(database: str) -> WriteGate:
    gates = _GATES.setdefault(asyncio.get_running_loop(), {})
    return gates.setdefault(database, WriteGate())


def read_inline(dbapi_connection: Any) -> None:
    """The read transaction about to begin on this connection runs on the loop's thread
    (engine/store/db.py QUICK); it ends with its COMMIT or ROLLBACK."""
    if isinstance(dbapi_connection, OneHopConnection):
        dbapi_connection.reading_inline = True


def contended(dbapi_connection: Any) -> bool:
    """Whether another writer of this process waits for the database this connection
    writes (False for any other driver: PostgreSQL locks rows, not the database)."""
    if not isinstance(dbapi_connection, OneHopConnection) or dbapi_connection.gate is None:
        return False
    return dbapi_connection.gate.waiting > 0


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No driver cursor is made here (that alone would be a round trip).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid or 0

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        return self._go(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        return self._go(operation, seq_of_parameters, many=True)

    def _go(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection = self._adapt_connection
        if operation == _BEGIN_WRITE and isinstance(connection, OneHopConnection):
            connection.enter_gate()
        try:
            inline = isinstance(connection, OneHopConnection) and (
                connection.writing or connection.reading_inline)
            result = await_(self._call(operation, parameters, many, inline=inline))
        except Exception as error:
            if operation == _BEGIN_WRITE and isinstance(connection, OneHopConnection):
                connection.leave_gate()
            connection._handle_exception(error)
        if operation == _BEGIN_WRITE and isinstance(connection, OneHopConnection):
            connection.writing = True
        self._description, rows, self._rowcount, self._lastrowid = result
        self._rows = collections.deque(rows)

    async def _call(self, operation: Any, parameters: Any, many: bool, *,
                    inline: bool) -> Result:
        # A coroutine either way: SQLAlchemy's greenlet bridge requires one per statement.
        async with self._adapt_connection._execute_mutex:
            driver = self._connection
            if inline:
                return _run(driver._conn, operation, parameters, many)
            result: Result = await driver._execute(_run, driver._conn, operation, parameters,
                                                   many)
            return result


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("writing", "reading_inline", "database", "gate")
    reading_inline: bool
    database: str
    gate: WriteGate | None
    _cursor_cls = OneHopCursor  # type: ignore[assignment]  # a subclass; stubs are exact

    def _ended_inline(self, end: str) -> bool:
        """The COMMIT or ROLLBACK of an inline read, run inline too: ending a read never
        waits. False when this transaction was not one."""
        if not self.reading_inline:
            return False
        self.reading_inline = False
        await_(self._inline(end))
        return True

    async def _inline(self, end: str) -> None:
        async with self._execute_mutex:
            getattr(self._connection._conn, end)()

    def _in_transaction(self) -> bool:
        try:
            return bool(self._connection._conn.in_transaction)
        except ValueError:  # aiosqlite's: no connection any more; the adapter says so
            return True

    def enter_gate(self) -> None:
        if self.database in ("", ":memory:") or self.database.startswith("file:"):
            return  # a database of this connection's own: nobody to queue with
        gate = gate_of(self.database)
        self.gate = gate if await_(gate.enter()) else None

    def leave_gate(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.leave()

    def commit(self) -> None:
        self.writing = False
        try:
            if not self._ended_inline("commit"):
                super().commit()
        finally:
            self.leave_gate()

    def rollback(self) -> None:
        self.writing = False
        try:
            # The pool rolls back every connection it takes back; after a COMMIT there is
            # nothing to undo, and asking the worker thread would cost a hop per transaction.
            if not self._ended_inline("rollback") and self._in_transaction():
                super().rollback()
        finally:
            self.leave_gate()

    def close(self) -> None:
        self.leave_gate()
        super().close()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **{**kw, "check_same_thread": False})
        connection = OneHopConnection(self, adapted._connection)
        connection.writing = False
        connection.reading_inline = False
        connection.database = str(arg[0] if arg else kw.get("database", ""))
        connection.gate = None
        return connection


class OneHopDialect(SQLiteDialect_aiosqlite):
    driver = "tbaiosqlite"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


def register() -> None:
    """Make `sqlite+tbaiosqlite://` known to SQLAlchemy (idempotent; no I/O)."""
    registry.register("sqlite.tbaiosqlite", __name__, "OneHopDialect")
