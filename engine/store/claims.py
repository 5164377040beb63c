"""Which worker processes which stored mail, when several workers share one PostgreSQL.

A claim is a transaction-level advisory lock on the inbound row's id, taken with
`pg_try_advisory_xact_lock` (never waiting: a row another worker holds is simply left to
it), and then the row is read again to see that it is still pending. The order matters: the
worker that held the lock released it only after committing the row's fate, so a second
statement after the lock sees that fate; a status read in the same statement as the lock
could see the row as it was before that commit.

Advisory locks, not row locks, because a mail redone on its own runs its commands in
transactions of their own and finishes the row from yet another one: a row lock held by
the claim would block the worker's own `finish`.

Batches of several workers take turns (`claim_batch`): a batch holds the ticket counter's
row from its first new ticket to its commit, and the addresses of the new senders it
registered; two batches interleaving those in opposite orders deadlock, and PostgreSQL then
rolls one back. Batches already wait for each other on the counter, so taking turns from
the start costs nothing; SMTP intake and a mail redone on its own never wait for it.

SQLite runs one `ticketbot run` (`engine/store/single_process.py` refuses a second) and
serialises writers: a batch only reads the rows' status again (a cron `mail fetch --once`
may have finished some meanwhile).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import Integer

from engine.store.tables import inbound

# The first key of every advisory lock this service takes; the second names the object.
LOCK_SPACE = 0x7462        # "tb"
INBOUND_SPACE = 0x7463     # inbound rows: the second key is the row id
BATCH_KEY = 2              # with LOCK_SPACE: the turn of a batch of mails

_TRY_LOCKS = text(
    "SELECT id FROM unnest(:ids) AS id WHERE pg_try_advisory_xact_lock(:space, id)"
).bindparams(bindparam("ids", type_=ARRAY(Integer)))


def _shared(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


async def claim_rows(conn: AsyncConnection, ids: Sequence[int]) -> set[int]:
    """The rows among `ids` this transaction now holds and that are still pending; the
    locks last until it ends (after the rows' fate is committed with it)."""
    if not ids:
        return set()
    locked = list(ids) if not _shared(conn) else list((await conn.execute(
        _TRY_LOCKS, {"ids": list(ids), "space": INBOUND_SPACE})).scalars())
    if not locked:
        return set()
    rows = await conn.execute(select(inbound.c.id).where(
        inbound.c.id.in_(locked), inbound.c.status == "pending"))
    return set(rows.scalars())


async def claim_batch(conn: AsyncConnection, ids: Sequence[int]) -> set[int]:
    """`claim_rows` for a batch, after waiting for its turn (held until it ends)."""
    if _shared(conn):
        await conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                           {"a": LOCK_SPACE, "b": BATCH_KEY})
    return await claim_rows(conn, ids)


@asynccontextmanager
async def claim_row(db: AsyncEngine, row_id: int) -> AsyncIterator[bool]:
    """True while this worker holds the row and it is still pending; the lock is held on a
    connection of its own for the whole block (the row's work commits elsewhere)."""
    if db.dialect.name != "postgresql":
        yield True  # one process: nobody else processes mail
        return
    async with db.connect() as conn, conn.begin():
        yield bool(await claim_rows(conn, [row_id]))
