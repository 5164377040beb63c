"""The unit of work over SQL: one connection, one transaction, every repository of
`engine.ports` on it. Leaving without `commit()` rolls everything back."""

from __future__ import annotations

import builtins
import copy
import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import ColumnElement, Row, bindparam, delete, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from engine.directory_store import DirectoryStore
from engine.events import DeskEvent, Event
from engine.model import Comment, Company, Person, Role, Status, Ticket
from engine.notify.kinds import notice_kind
from engine.ports import (
    AddressSuppressions,
    Clock,
    CommentRef,
    CommentRepository,
    DialogRepository,
    EventLog,
    Held,
    MessageRefs,
    NewPerson,
    Outbox,
    OutboxItem,
    PersonRepository,
    StoredEvent,
    SystemClock,
    TicketRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from engine.store import search_sql
from engine.store.db import insert
from engine.store.dialogs_sql import SqlDialogs
from engine.store.directory_sql import SqlDirectory
from engine.store.files_sql import add_files, files_of
from engine.store.suppressions import SqlSuppressions
from engine.store.tables import (
    comments,
    companies,
    counters,
    events,
    message_refs,
    outbox,
    people,
    person_emails,
    ticket_observers,
    ticket_tags,
    tickets,
)

TICKET_COUNTER = "ticket"


# ---------------------------------------------------------------- tickets

# The model's fields, not the table's columns: a column added for a later feature (with a
# default) must not break reading or writing tickets.
_TICKET_FIELDS = tuple(f.name for f in fields(Ticket) if f.name not in ("observers", "tags"))
_TICKET_COLUMNS = tuple(tickets.c[name] for name in _TICKET_FIELDS)


def _ticket_values(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in _TICKET_FIELDS}
    values["status"] = ticket.status.value
    values["cc"] = list(ticket.cc)
    return values


def _ticket_from(row: Row[Any], observers: set[int], tags: set[str]) -> Ticket:
    values = dict(row._mapping)
    values["status"] = Status(values["status"])
    values["cc"] = tuple(values["cc"])
    return Ticket(**values, observers=observers, tags=tags)


# Statements built once: SQLAlchemy then reuses their compiled form, where `.values(...)`
# per call would pay argument coercion and cache-key generation every time (measured: a
# third of the CPU time of opening a ticket).
_INSERT_TICKET = tickets.insert()
_INCREMENT = (update(counters).where(counters.c.name == TICKET_COUNTER)
              .values(value=counters.c.value + 1).returning(counters.c.value))
_UPDATE_TICKET = (update(tickets).where(tickets.c.number == bindparam("_number"))
                  .values({name: bindparam(name) for name in _TICKET_FIELDS
                           if name != "number"}))
_GET_TICKET = select(*_TICKET_COLUMNS).where(tickets.c.number == bindparam("number"))
_GET_OBSERVERS = select(ticket_observers.c.person_id).where(
    ticket_observers.c.ticket == bindparam("number"))
_GET_TAGS = select(ticket_tags.c.tag).where(ticket_tags.c.ticket == bindparam("number"))


def _clone(ticket: Ticket) -> Ticket:
    """A copy to hand out: its sets are the only mutable fields (deepcopy cost 5x more)."""
    twin = copy.copy(ticket)
    twin.observers, twin.tags = set(ticket.observers), set(ticket.tags)
    return twin


class SqlTickets:
    """Tickets, with an identity map: within one unit of work a ticket is read from the
    database once, and the reactors that look at it after the handler cost no query."""

    def __init__(self, conn: AsyncConnection, docs: search_sql.NewDocs | None = None) -> None:
        self._conn = conn
        self._docs = docs or search_sql.NewDocs(conn)
        # Observers and tags as last read or written, so `save` writes only the difference.
        self._seen: dict[int, tuple[frozenset[int], frozenset[str]]] = {}
        # Each ticket as last read or written; callers get copies, so a change they make
        # without `save` is not kept.
        self._known: dict[int, Ticket] = {}

    def _remember(self, ticket: Ticket) -> None:
        self._known[ticket.number] = _clone(ticket)

    async def next_number(self) -> int:
        """Row-locked increment: concurrent writers queue on the counter row (PostgreSQL)
        or on the database lock (SQLite); a rolled-back number was never given out."""
        number = await self._increment()
        if number is None:
            await self._conn.execute(insert(self._conn.dialect, counters)
                                     .values(name=TICKET_COUNTER, value=0)
                                     .on_conflict_do_nothing(index_elements=["name"]))
            number = await self._increment()
        assert number is not None
        return number

    async def _increment(self) -> int | None:
        value: int | None = (await self._conn.execute(_INCREMENT)).scalar_one_or_none()
        return value

    async def add(self, ticket: Ticket) -> None:
        await self._conn.execute(_INSERT_TICKET, _ticket_values(ticket))
        await self._write_sets(ticket, frozenset(), frozenset())
        await self._docs.subject(ticket.number, ticket.subject)
        self._remember(ticket)

    async def get(self, number: int) -> Ticket | None:
        if number in self._known:
            return _clone(self._known[number])
        found = await self._by_number(number)
        return found[0] if found else None

    async def preload(self, numbers: Collection[int]) -> None:
        """These tickets in one query (a sender's batch): `get` then reads none."""
        missing = sorted(set(numbers) - self._known.keys())
        if missing:
            await self._load(tickets.c.number.in_(missing))

    async def save(self, ticket: Ticket) -> None:
        known = self._known.get(ticket.number)
        if known == ticket:
            return  # nothing changed since it was read or written
        if known is None or known.subject != ticket.subject:
            await self._docs.flush()  # a new ticket's row first, then its replacement
            await search_sql.index_subject(self._conn, ticket.number, ticket.subject)
        values = _ticket_values(ticket)
        values["_number"] = values.pop("number")
        await self._conn.execute(_UPDATE_TICKET, values)
        old_observers, old_tags = self._seen.get(ticket.number) or await self._sets(ticket.number)
        await self._write_sets(ticket, old_observers, old_tags)
        self._remember(ticket)

    async def list(self, status: Status | None = None,
                   limit: int | None = None) -> builtins.list[Ticket]:
        where = true() if status is None else tickets.c.status == status.value
        return await self._load(where, limit)

    async def requested_by(self, person_id: int, limit: int) -> builtins.list[Ticket]:
        numbers = (select(tickets.c.number).where(tickets.c.requester_id == person_id)
                   .order_by(tickets.c.number.desc()).limit(limit))
        found = await self._load(tickets.c.number.in_(numbers))
        return sorted(found, key=lambda t: t.number, reverse=True)

    async def due_waiting(self, now: dt.datetime) -> builtins.list[int]:
        stmt = (select(tickets.c.number)
                .where(tickets.c.status == Status.WAITING.value, tickets.c.waiting_until <= now)
                .order_by(tickets.c.number))
        return list((await self._conn.scalars(stmt)).all())

    async def _load(self, where: ColumnElement[bool],
                    limit: int | None = None) -> builtins.list[Ticket]:
        numbers = select(tickets.c.number).where(where).order_by(tickets.c.number).limit(limit)
        rows = (await self._conn.execute(
            select(*_TICKET_COLUMNS).where(tickets.c.number.in_(numbers))
            .order_by(tickets.c.number)
        )).all()
        observers = await self._pairs(ticket_observers.c.person_id, numbers)
        tags = await self._pairs(ticket_tags.c.tag, numbers)
        found = [_ticket_from(r, set(observers.get(r.number, ())), set(tags.get(r.number, ())))
                 for r in rows]
        for t in found:
            self._seen[t.number] = (frozenset(t.observers), frozenset(t.tags))
            self._remember(t)
        return found

    async def _by_number(self, number: int) -> builtins.list[Ticket]:
        """`_load` of one ticket, with statements built once (a chat's `/status` waits on
        it: building and keying three statements cost more than running them)."""
        key = {"number": number}
        row = (await self._conn.execute(_GET_TICKET, key)).first()
        if row is None:
            return []
        observers = {v for (v,) in await self._conn.execute(_GET_OBSERVERS, key)}
        tags = {v for (v,) in await self._conn.execute(_GET_TAGS, key)}
        found = _ticket_from(row, observers, tags)
        self._seen[number] = (frozenset(observers), frozenset(tags))
        self._remember(found)
        return [found]

    async def _pairs(self, column: Any, numbers: Any) -> dict[int, builtins.list[Any]]:
        table = column.table
        rows = await self._conn.execute(
            select(table.c.ticket, column).where(table.c.ticket.in_(numbers)))
        grouped: dict[int, builtins.list[Any]] = {}
        for number, value in rows:
            grouped.setdefault(number, []).append(value)
        return grouped

    async def _sets(self, number: int) -> tuple[frozenset[int], frozenset[str]]:
        where = select(tickets.c.number).where(tickets.c.number == number)
        observers = await self._pairs(ticket_observers.c.person_id, where)
        tags = await self._pairs(ticket_tags.c.tag, where)
        return frozenset(observers.get(number, ())), frozenset(tags.get(number, ()))

    async def _write_sets(self, ticket: Ticket, old_observers: frozenset[int],
                          old_tags: frozenset[str]) -> None:
        observers, tags = frozenset(ticket.observers), frozenset(ticket.tags)
        await self._sync(ticket_observers.c.person_id, ticket.number, old_observers, observers)
        await self._sync(ticket_tags.c.tag, ticket.number, old_tags, tags)
        self._seen[ticket.number] = (observers, tags)

    async def _sync(self, column: Any, number: int, old: frozenset[Any],
                    new: frozenset[Any]) -> None:
        table = column.table
        if old - new:
            await self._conn.execute(delete(table).where(
                table.c.ticket == number, column.in_(sorted(old - new))))
        if new - old:
            await self._conn.execute(table.insert(), [
                {"ticket": number, column.name: value} for value in sorted(new - old)])


# ---------------------------------------------------------------- people

def _people_query(where: ColumnElement[bool]) -> Any:
    # One round trip: people outer-joined to their addresses, in declared order.
    return (select(people, person_emails.c.address)
            .outerjoin(person_emails, person_emails.c.person_id == people.c.id)
            .where(where)
            .order_by(people.c.id, person_emails.c.position, person_emails.c.address))


def _people_from(rows: Iterable[Row[Any]]) -> list[Person]:
    found: dict[int, tuple[Row[Any], list[str]]] = {}
    for row in rows:
        _, emails = found.setdefault(row.id, (row, []))
        if row.address is not None:
            emails.append(row.address)
    return [Person(id=r.id, name=r.name, role=Role(r.role), emails=tuple(emails),
                   telegram_id=r.telegram_id, company_id=r.company_id, language=r.language,
                   notify_via=r.notify_via, username=r.username)
            for r, emails in found.values()]


def normalise_address(address: str) -> str:
    return address.strip().lower()


_INSERT_PERSON = people.insert().returning(people.c.id)


def _person_values(person: NewPerson) -> dict[str, Any]:
    return {"name": person.name, "role": person.role.value, "telegram_id": person.telegram_id,
            "company_id": person.company_id, "language": person.language,
            "username": person.username}


_BY_ID = _people_query(people.c.id == bindparam("id"))
_BY_TELEGRAM = _people_query(people.c.telegram_id == bindparam("telegram_id"))
_BY_EMAIL = _people_query(people.c.id == select(person_emails.c.person_id).where(
    person_emails.c.address == bindparam("address")).scalar_subquery())


class SqlPeople:
    """People, with an identity map for one transaction: each person, each address found
    to name nobody, and each role list is read once. Every write to people (here, or the
    directory import on the same connection: `forget`) drops what could have changed."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        # A command often asks for the same person twice (as actor and as requester).
        self._known: dict[int, Person] = {}
        self._by_address: dict[str, int] = {}
        # Addresses that named nobody: a new sender's mail asks twice (the intake, then the
        # engine's RegisterContact) before the person is added.
        self._nobody: set[str] = set()
        # Every command asks who the leads are (they hear of each new ticket).
        self._by_role: dict[tuple[Role, ...], builtins.list[Person]] = {}
        self._companies: dict[int, Company | None] = {}

    def forget(self) -> None:
        """People or companies were written behind this repository's back."""
        self._known.clear()
        self._by_address.clear()
        self._nobody.clear()
        self._by_role.clear()
        self._companies.clear()

    async def get(self, person_id: int) -> Person | None:
        if person_id in self._known:
            return self._known[person_id]
        return await self._one(_BY_ID, {"id": person_id})

    async def preload(self, ids: Collection[int]) -> None:
        """These people in one query (a sender's batch): `get` then reads none."""
        missing = sorted(set(ids) - self._known.keys())
        if missing:
            self._remember(_people_from(await self._conn.execute(
                _people_query(people.c.id.in_(missing)))))

    async def by_email(self, address: str) -> Person | None:
        address = normalise_address(address)
        if address in self._by_address:
            return self._known[self._by_address[address]]
        if address in self._nobody:
            return None
        found = await self._one(_BY_EMAIL, {"address": address})
        if found is None:
            self._nobody.add(address)
        return found

    async def by_telegram(self, user_id: int) -> Person | None:
        return await self._one(_BY_TELEGRAM, {"telegram_id": user_id})

    async def add(self, person: NewPerson) -> Person:
        self._written(person.role)
        person_id = (await self._conn.execute(_INSERT_PERSON, _person_values(person))
                     ).scalar_one()
        emails = tuple(dict.fromkeys(normalise_address(a) for a in person.emails))
        if emails:
            await self._conn.execute(person_emails.insert(), [
                {"address": a, "person_id": person_id, "position": i}
                for i, a in enumerate(emails)])
        return self._added(person, person_id, emails)

    async def add_unless_known(self, person: NewPerson) -> Person | None:
        """INSERT ... ON CONFLICT DO NOTHING for the Telegram id and the addresses: on
        PostgreSQL a concurrent insert of the same key waits for the other transaction and
        then does nothing, where a plain insert would fail and roll back everything the
        caller's transaction holds (a whole batch of mails)."""
        # Before the insert: when it finds the key taken, the caller looks again, and an
        # address remembered as nobody's must then be read, not answered from memory.
        self._written(person.role)
        # Statements built once per dialect (as `_INSERT_TICKET`): building them per call
        # cost more CPU than running them.
        stmt = _INSERT_PERSON if person.telegram_id is None else _once(
            self._conn, "person_by_telegram", lambda: insert(self._conn.dialect, people)
            .on_conflict_do_nothing(index_elements=["telegram_id"]).returning(people.c.id))
        person_id = (await self._conn.execute(stmt, _person_values(person))
                     ).scalar_one_or_none()
        if person_id is None:
            return None
        emails = tuple(dict.fromkeys(normalise_address(a) for a in person.emails))
        address_stmt = _once(self._conn, "person_email", lambda: insert(
            self._conn.dialect, person_emails).on_conflict_do_nothing(
            index_elements=["address"]).returning(person_emails.c.address))
        for i, address in enumerate(emails):
            added = (await self._conn.execute(address_stmt, {
                "address": address, "person_id": person_id, "position": i})
            ).scalar_one_or_none()
            if added is None:  # theirs now: this person was never needed
                await self._conn.execute(delete(people).where(people.c.id == person_id))
                return None
        return self._added(person, person_id, emails)

    def _written(self, role: Role) -> None:
        """A person is being added: no address is known to name nobody any more, and the
        lists of the new person's role are stale (a new client leaves the leads alone)."""
        self._nobody.clear()
        for roles in [r for r in self._by_role if role in r]:
            del self._by_role[roles]

    def _added(self, person: NewPerson, person_id: int, emails: tuple[str, ...]) -> Person:
        added = Person(id=person_id, name=person.name, role=person.role, emails=emails,
                       telegram_id=person.telegram_id, company_id=person.company_id,
                       language=person.language, username=person.username)
        self._remember([added])
        return added

    async def with_role(self, *roles: Role) -> list[Person]:
        if roles not in self._by_role:
            rows = await self._conn.execute(
                _people_query(people.c.role.in_([r.value for r in roles])))
            self._by_role[roles] = self._remember(_people_from(rows))
        return list(self._by_role[roles])

    async def company(self, company_id: int) -> Company | None:
        if company_id not in self._companies:
            row = (await self._conn.execute(
                select(companies).where(companies.c.id == company_id))).one_or_none()
            self._companies[company_id] = None if row is None else Company(
                id=row.id, name=row.name, domains=tuple(row.domains.split()),
                manager_id=row.manager_id)
        return self._companies[company_id]

    async def _one(self, stmt: Any, params: dict[str, Any]) -> Person | None:
        found = self._remember(_people_from(await self._conn.execute(stmt, params)))
        return found[0] if found else None

    def _remember(self, found: builtins.list[Person]) -> builtins.list[Person]:
        for person in found:
            self._known[person.id] = person
            self._by_address.update(dict.fromkeys(person.emails, person.id))
        return found


# ---------------------------------------------------------------- comments

_INSERT_COMMENT = comments.insert().returning(comments.c.id)


class SqlComments:
    def __init__(self, conn: AsyncConnection, docs: search_sql.NewDocs | None = None) -> None:
        self._conn = conn
        self._docs = docs or search_sql.NewDocs(conn)
        self._refs: dict[int, list[str]] = {}  # source_refs per ticket, as last read

    async def add(self, comment: Comment) -> int:
        self._refs.pop(comment.ticket, None)
        comment_id: int = (await self._conn.execute(_INSERT_COMMENT, {
            "ticket": comment.ticket, "author_id": comment.author_id, "body": comment.body,
            "public": comment.public, "channel": comment.channel,
            "created_at": comment.created_at, "source_ref": comment.source_ref,
        })).scalar_one()
        if comment.attachments:
            await add_files(self._conn, comment_id, comment.ticket, comment.attachments)
        await self._docs.comment(comment_id, comment.ticket, comment.body, comment.public)
        return comment_id

    async def by_ref(self, ticket: int, source_ref: str) -> CommentRef | None:
        first = (select(func.min(comments.c.id)).where(comments.c.ticket == ticket)
                 .scalar_subquery())
        row = (await self._conn.execute(
            select(comments.c.id, comments.c.author_id, (comments.c.id == first).label("first"))
            .where(comments.c.ticket == ticket, comments.c.source_ref == source_ref)
            .order_by(comments.c.id).limit(1))).first()
        return None if row is None else CommentRef(row.id, row.author_id, bool(row.first))

    async def set_public(self, comment_id: int, public: bool) -> None:
        await self._conn.execute(
            comments.update().where(comments.c.id == comment_id).values(public=public))
        await search_sql.set_comment_public(self._conn, comment_id, public)

    async def set_body(self, comment_id: int, body: str) -> None:
        await self._conn.execute(
            comments.update().where(comments.c.id == comment_id).values(body=body))
        await search_sql.reindex_comment(self._conn, comment_id, body)

    async def for_ticket(self, number: int) -> list[Comment]:
        files = await files_of(self._conn, number)
        rows = await self._conn.execute(
            select(comments).where(comments.c.ticket == number).order_by(comments.c.id))
        return [Comment(ticket=r.ticket, author_id=r.author_id, body=r.body, public=r.public,
                        channel=r.channel, created_at=r.created_at, source_ref=r.source_ref,
                        attachments=tuple(files.get(r.id, ())), id=r.id)
                for r in rows]

    async def source_refs(self, number: int) -> list[str]:
        """The Message-IDs the ticket's comments came with, oldest first: what threading
        needs, without a comment's text or a file's bytes."""
        if number in self._refs:
            return list(self._refs[number])
        await self.preload_refs([number])
        return list(self._refs.get(number, ()))

    async def preload_refs(self, numbers: Collection[int]) -> None:
        """`source_refs` of these tickets in one query (a sender's batch)."""
        missing = sorted(set(numbers) - self._refs.keys())
        if not missing:
            return
        rows = await self._conn.execute(
            select(comments.c.ticket, comments.c.source_ref)
            .where(comments.c.ticket.in_(missing), comments.c.source_ref.is_not(None))
            .order_by(comments.c.id))
        found: dict[int, list[str]] = {number: [] for number in missing}
        for number, ref in rows:
            if ref:
                found[number].append(ref)
        self._refs.update(found)

    async def get(self, comment_id: int) -> Comment | None:
        """One comment with its files (their metadata: bytes are fetched by id)."""
        r = (await self._conn.execute(
            select(comments).where(comments.c.id == comment_id))).first()
        if r is None:
            return None
        files = await files_of(self._conn, r.ticket)
        return Comment(ticket=r.ticket, author_id=r.author_id, body=r.body, public=r.public,
                       channel=r.channel, created_at=r.created_at, source_ref=r.source_ref,
                       attachments=tuple(files.get(r.id, ())), id=r.id)


# ---------------------------------------------------------------- events, outbox, refs

_INSERT_EVENT = events.insert().returning(events.c.id)
_INSERT_DESK_EVENTS = events.insert()


class SqlEvents:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, event: Event) -> int:
        event_id: int = (await self._conn.execute(_INSERT_EVENT, {
            "ticket": event.ticket, "kind": event.kind, "actor": event.actor, "at": event.at,
            "channel": event.channel, "payload": event.payload(),
        })).scalar_one()
        return event_id

    async def record(self, event: DeskEvent) -> int:
        event_id: int = (await self._conn.execute(_INSERT_EVENT, {
            "ticket": None, "kind": event.kind, "actor": event.actor, "at": event.at,
            "channel": event.channel, "payload": event.payload(),
        })).scalar_one()
        return event_id

    async def record_all(self, desk_events: Sequence[DeskEvent]) -> None:
        # No ids back: one multi-row INSERT, however many messages a chat batch held.
        await self._conn.execute(_INSERT_DESK_EVENTS, [
            {"ticket": None, "kind": d.kind, "actor": d.actor, "at": d.at,
             "channel": d.channel, "payload": d.payload()} for d in desk_events])

    async def for_ticket(self, number: int) -> list[StoredEvent]:
        rows = await self._conn.execute(
            select(events).where(events.c.ticket == number).order_by(events.c.id))
        return [StoredEvent(id=r.id, kind=r.kind, ticket=r.ticket, actor=r.actor, at=r.at,
                            channel=r.channel, payload=r.payload) for r in rows]


_BY_DIALECT: dict[tuple[str, str], Any] = {}


def _once(conn: AsyncConnection, name: str, build: Callable[[], Any]) -> Any:
    """A dialect-specific statement (ON CONFLICT differs), built once per dialect."""
    key = (conn.dialect.name, name)
    if key not in _BY_DIALECT:
        _BY_DIALECT[key] = build()
    return _BY_DIALECT[key]


class SqlOutbox:
    def __init__(self, conn: AsyncConnection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    async def enqueue(self, item: OutboxItem) -> bool:
        """False when the key is already there. ON CONFLICT DO NOTHING raises no error, so
        the transaction (a PostgreSQL one included) stays usable and commits."""
        stmt = _once(self._conn, "outbox", lambda: insert(self._conn.dialect, outbox)
                     .on_conflict_do_nothing(index_elements=["key"]).returning(outbox.c.id))
        return (await self._conn.execute(stmt, {
            "key": item.key, "channel": item.channel, "recipient": item.recipient,
            "kind": item.kind.value, "ticket": item.ticket, "person_id": item.person_id,
            "language": item.language, "payload": item.payload,
            "not_before": item.not_before, "created_at": self._clock.now(),
            "cause": item.cause,
        })).first() is not None

    async def held(self, now: dt.datetime) -> list[Held]:
        o = outbox.c
        rows = await self._conn.execute(
            select(o.cause, func.min(o.ticket)).where(*_waiting(now))
            .group_by(o.cause).order_by(o.cause))
        return [Held(cause, ticket) for cause, ticket in rows]

    async def revise(self, item: OutboxItem) -> None:
        await self._conn.execute(
            outbox.update().where(outbox.c.key == item.key, outbox.c.sent_at.is_(None))
            .values(kind=item.kind.value, payload=item.payload, not_before=item.not_before,
                    cause=item.cause))

    async def withdraw(self, cause: int, now: dt.datetime) -> list[OutboxItem]:
        o = outbox.c
        rows = await self._conn.execute(
            outbox.update().where(o.cause == cause, *_waiting(now))
            .values(failed_at=now, last_error=WITHDRAWN)
            .returning(o.key, o.channel, o.recipient, o.kind, o.ticket, o.person_id,
                       o.language, o.payload, o.not_before, o.cause))
        return [OutboxItem(key=r.key, channel=r.channel, recipient=r.recipient,
                           kind=notice_kind(r.kind), ticket=r.ticket, person_id=r.person_id,
                           language=r.language, payload=dict(r.payload or {}),
                           not_before=r.not_before, cause=r.cause) for r in rows]

    async def retry(self, id: int) -> bool:
        c = outbox.c
        # A withdrawn answer (/undo) was given up on purpose: it is never sent again.
        stmt = (update(outbox).where(c.id == id, c.failed_at.is_not(None), c.sent_at.is_(None),
                                     c.last_error.is_distinct_from(WITHDRAWN))
                .values(failed_at=None, next_try=None, lease_until=None, attempts=0)
                .returning(c.id))
        return (await self._conn.execute(stmt)).first() is not None


WITHDRAWN = "withdrawn"


def _waiting(now: dt.datetime) -> tuple[Any, ...]:
    """Rows of some cause still held back: not sent, not given up, not leased, not due."""
    o = outbox.c
    return (o.cause.is_not(None), o.sent_at.is_(None), o.failed_at.is_(None),
            o.not_before.is_not(None), o.not_before > now,
            (o.lease_until.is_(None)) | (o.lease_until <= now))



_FIND_REFS = select(message_refs.c.ref, message_refs.c.ticket).where(
    message_refs.c.ref.in_(bindparam("refs", expanding=True)))


def ref_key(ref: str) -> str:
    """The lookup key of a message id: Message-IDs are compared case-insensitively."""
    return ref.lower()


class SqlRefs:
    def __init__(self, conn: AsyncConnection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock
        # Keys read as naming no ticket in this transaction (`preload`); `add` takes a key
        # out. Nothing else adds refs on this connection (a merge only moves existing ones).
        self._absent: set[str] = set()

    async def preload(self, refs: Sequence[str]) -> None:
        """Which of these refs name no ticket, in one query: a batch's own Message-IDs,
        so each mail's replay check is answered from memory."""
        keys = {ref_key(r) for r in refs} - self._absent
        if keys:
            rows = await self._conn.execute(_FIND_REFS, {"refs": sorted(keys)})
            self._absent |= keys - {row.ref for row in rows}

    async def add(self, ref: str, ticket: int, direction: str) -> None:
        """`ref` is kept under its lower-case key: ids are compared case-insensitively
        here, while tickets, comments, inbound rows and our mail keep them as written."""
        await self.add_all([(ref, ticket)], direction)

    async def add_all(self, refs: Sequence[tuple[str, int]], direction: str) -> None:
        """`add` of each (ref, ticket) in turn, as one statement (a batch of mail about to
        go out: not one round trip to the database per mail)."""
        if direction not in ("in", "out"):
            raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
        if not refs:
            return
        keys = [(ref_key(ref), ticket) for ref, ticket in refs]
        self._absent.difference_update(key for key, _ in keys)
        # The first ticket a ref was seen with keeps it.
        stmt = _once(self._conn, "refs", lambda: insert(self._conn.dialect, message_refs)
                     .on_conflict_do_nothing(index_elements=["ref"]))
        now = self._clock.now()
        rows = [{"ref": key, "ticket": ticket, "direction": direction, "created_at": now}
                for key, ticket in keys]
        await self._conn.execute(stmt, rows[0] if len(rows) == 1 else rows)

    async def find(self, refs: Sequence[str]) -> int | None:
        if not refs:
            return None
        keys = [ref_key(r) for r in refs]
        if self._absent.issuperset(keys):
            return None
        rows = await self._conn.execute(_FIND_REFS, {"refs": list(set(keys))})
        known: dict[str, int] = {row.ref: row.ticket for row in rows}
        return next((known[k] for k in keys if k in known), None)


# ---------------------------------------------------------------- the unit of work

class SqlUnitOfWork:
    tickets: TicketRepository
    people: PersonRepository
    comments: CommentRepository
    events: EventLog
    outbox: Outbox
    refs: MessageRefs
    suppressions: AddressSuppressions
    dialogs: DialogRepository
    directory: DirectoryStore

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        conn = await self._engine.connect()
        try:
            self._tx = await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self._bind(conn)
        return self

    @property
    def connection(self) -> AsyncConnection | None:
        """For stores outside the engine's ports that must write in this transaction."""
        return self._conn

    def _bind(self, conn: AsyncConnection) -> None:
        # A new ticket's subject row joins its first comment's (one statement); `commit`
        # writes one still held.
        self._docs = search_sql.NewDocs(conn, joined=True)
        self.tickets = SqlTickets(conn, self._docs)
        persons = self.people = SqlPeople(conn)
        self.comments = SqlComments(conn, self._docs)
        self.events = SqlEvents(conn)
        self.outbox = SqlOutbox(conn, self._clock)
        self.refs = SqlRefs(conn, self._clock)
        self.suppressions = SqlSuppressions(conn)
        self.dialogs = SqlDialogs(conn)
        self.directory = SqlDirectory(conn, persons.forget)

    async def __aexit__(self, *exc: object) -> None:
        conn, tx, self._conn, self._tx = self._conn, self._tx, None, None
        if conn is None:
            return
        try:
            if tx is not None and tx.is_active:
                await tx.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("commit() outside `async with` of the unit of work")
        await self._docs.flush()
        await self._tx.commit()


def sql_uow_factory(engine: AsyncEngine, clock: Clock | None = None) -> UnitOfWorkFactory:
    """`clock` stamps only bookkeeping rows (outbox/ref created_at); domain times come
    from the commands."""

    def make() -> UnitOfWork:
        return SqlUnitOfWork(engine, clock)

    return make
