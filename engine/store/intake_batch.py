"""Many mails per transaction, for intake speed (bench/mail_import.py): the SQL side of
`engine.inbox.Inbox.store_mails` and `Inbox.batch`.

On SQLite every transaction and every statement pays several thread hops through aiosqlite;
a mail is stored and processed in a handful of transactions. Here a batch of mails shares
one connection and one transaction:

* `store_raw` commits a whole IMAP fetch batch, and the mailbox's new last UID with it;
* `SharedTransaction` hands the engine units of work that all run on that one connection:
  their `commit()` only marks them done, and a unit left without commit (an engine refusal)
  spoils the batch, which the caller then rolls back and redoes mail by mail. Refusals are
  rare in mail intake, so the common path never pays for savepoints.

The inbound statements here are the batched twins of `InboundStore`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.bus import MessageBus
from engine.directory_store import DirectoryStore
from engine.inbox import RawMail
from engine.ports import (
    AddressSuppressions,
    Clock,
    CommentRepository,
    DialogRepository,
    EventLog,
    MessageRefs,
    Outbox,
    OutboxItem,
    PersonRepository,
    TicketRepository,
    UnitOfWork,
)
from engine.store.claims import claim_batch
from engine.store.db import contended, insert
from engine.store.dialogs_sql import SqlDialogs
from engine.store.directory_sql import SqlDirectory
from engine.store.search_sql import NewDocs
from engine.store.suppressions import SqlSuppressions
from engine.store.tables import inbound, mailbox_state
from engine.store.uow import SqlComments, SqlEvents, SqlOutbox, SqlPeople, SqlRefs, SqlTickets


async def store_mails(db: AsyncEngine, channel: str, mails: Sequence[RawMail],
                      now: dt.datetime,
                      state: tuple[str, int, int] | None = None) -> list[int | None]:
    """Insert the mails (a mail stored before is skipped: None) and, in the same commit,
    the mailbox's (name, uidvalidity, last uid)."""
    async with db.begin() as conn:
        new: dict[str, int] = {}
        if mails:
            # One statement for the batch (SQLAlchemy's "insertmanyvalues": multi-row
            # VALUES ... RETURNING). A skipped row returns nothing, so the rows come back
            # by Message-ID, not by position.
            stmt = (insert(conn.dialect, inbound)
                    .on_conflict_do_nothing(index_elements=["channel", "external_id"])
                    .returning(inbound.c.external_id, inbound.c.id))
            rows = await conn.execute(stmt, [{
                "channel": channel, "external_id": m.external_id, "raw": m.raw,
                "received_at": m.received_at, "mailbox": m.mailbox, "uid": m.uid,
                "status": "pending", "created_at": now} for m in mails])
            new.update((row.external_id, row.id) for row in rows)
        if state is not None:
            await _set_state(conn, *state)
    # A Message-ID twice in one batch: the first mail is stored, the second is not (None).
    return [new.pop(m.external_id, None) for m in mails]


async def _set_state(conn: AsyncConnection, name: str, uidvalidity: int, last_uid: int) -> None:
    stmt = insert(conn.dialect, mailbox_state).values(
        mailbox=name, uidvalidity=uidvalidity, last_uid=last_uid)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=["mailbox"],
        set_={"uidvalidity": stmt.excluded.uidvalidity, "last_uid": stmt.excluded.last_uid}))


class Spoiled(Exception):
    """An engine unit of work in the batch ended without commit: redo mail by mail."""


class _SharedUnitOfWork:
    tickets: TicketRepository
    people: PersonRepository
    comments: CommentRepository
    events: EventLog
    outbox: Outbox
    refs: MessageRefs
    suppressions: AddressSuppressions
    dialogs: DialogRepository
    directory: DirectoryStore

    def __init__(self, shared: SharedTransaction) -> None:
        self._shared = shared
        self._committed = False
        # Stores that must write in the command's transaction look for `connection`
        # (engine/store/ratings_sql.uow_connection).
        self.connection = shared.conn

    async def __aenter__(self) -> _SharedUnitOfWork:
        # The repositories are the batch's: one transaction, so what one mail's command
        # read or wrote (a ticket, a person) is still true for the next mail's.
        s = self._shared
        self.tickets, self.people, self.comments = s.tickets, s.people, s.comments
        self.events, self.outbox, self.refs = s.events, s.outbox, s.refs
        self.suppressions, self.dialogs = s.suppressions, s.dialogs
        self.directory = s.directory
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self._committed:
            self._shared.spoiled = True

    async def commit(self) -> None:
        await self._shared.docs.flush()
        self._committed = True


class SharedTransaction:
    def __init__(self, conn: AsyncConnection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock
        self.spoiled = False
        self._finished: list[dict[str, Any]] = []
        # A new ticket's subject row joins its first comment's (engine/store/search_sql.py).
        self.docs = NewDocs(conn, joined=True)
        self.tickets, self.people = SqlTickets(conn, self.docs), SqlPeople(conn)
        self.comments, self.events = SqlComments(conn, self.docs), SqlEvents(conn)
        self.outbox, self.refs = SqlOutbox(conn, clock), SqlRefs(conn, clock)
        self.suppressions = SqlSuppressions(conn)
        self.dialogs = SqlDialogs(conn)
        self.directory = SqlDirectory(conn, self.people.forget)

    def uow(self) -> UnitOfWork:
        return _SharedUnitOfWork(self)

    def bus(self, like: MessageBus) -> MessageBus:
        """A bus like the service's (same reactors), on this transaction."""
        return like.on(self.uow)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SharedTransaction]:
        """The batch's own repositories: what earlier mails of the batch wrote is there."""
        yield self

    async def preload(self, tickets: Collection[int], people: Collection[int]) -> None:
        """As a view's reading does (engine/views.py): one query each, then from memory."""
        await self.tickets.preload(tickets)
        await self.comments.preload_refs(tickets)
        await self.people.preload(people)

    async def preload_refs(self, refs: Sequence[str]) -> None:
        await self.refs.preload(refs)

    async def enqueue(self, item: OutboxItem) -> bool:
        return await self.outbox.enqueue(item)

    async def claim(self, row_ids: Sequence[int]) -> set[int]:
        return await claim_batch(self.conn, row_ids)

    def finish(self, row_id: int, status: str, ticket: int | None, reason: str | None,
               rule: str | None) -> None:
        self._finished.append({"row": row_id, "status": status, "ticket": ticket,
                               "reason": reason, "rule": rule})

    def contended(self) -> bool:
        return contended(self.conn)

    async def flush(self) -> None:
        """Every finished row in one statement."""
        await self.docs.flush()
        if not self._finished:
            return
        stmt = (update(inbound).where(inbound.c.id == bindparam("row"))
                .values(status=bindparam("status"), ticket=bindparam("ticket"),
                        reason=bindparam("reason"), rule=bindparam("rule")))
        await self.conn.execute(stmt, self._finished)
        self._finished = []


@asynccontextmanager
async def shared(db: AsyncEngine, clock: Clock) -> AsyncIterator[SharedTransaction]:
    """One transaction; committed when the block ends cleanly and nothing spoiled it."""
    async with db.connect() as conn:
        tx = await conn.begin()
        batch = SharedTransaction(conn, clock)
        try:
            yield batch
            if batch.spoiled:
                raise Spoiled()
            await batch.flush()
            await tx.commit()
        finally:
            if tx.is_active:
                await tx.rollback()
