"""In-memory fakes of the engine's own ports, for unit tests of the handlers."""

from __future__ import annotations

import builtins
import copy
import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace

from engine.dialogs import Dialog, StoredMessage
from engine.directory import Card
from engine.directory_store import Checked, DirectoryStore, Lookups, Stored, TicketFilter
from engine.events import DeskEvent, Event
from engine.model import Comment, Company, Person, Role, Status, Ticket
from engine.ports import (
    AddressSuppressions,
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
    TicketRepository,
)

UTC = dt.UTC


@dataclass
class FixedClock:
    current: dt.datetime = dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)


@dataclass
class Store:
    """The state the fakes share; a unit of work works on a copy and commits it back."""

    tickets: dict[int, Ticket] = field(default_factory=dict)
    people: dict[int, Person] = field(default_factory=dict)
    companies: dict[int, Company] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    events: list[StoredEvent] = field(default_factory=list)
    desk_events: list[DeskEvent] = field(default_factory=list)
    suppressed: dict[str, tuple[str, dt.datetime]] = field(default_factory=dict)
    outbox: dict[str, OutboxItem] = field(default_factory=dict)
    withdrawn: set[str] = field(default_factory=set)  # outbox keys given up by /undo
    refs: dict[str, int] = field(default_factory=dict)
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    chat_messages: dict[tuple[int, int], StoredMessage] = field(default_factory=dict)
    settled: list[int] = field(default_factory=list)
    counter: int = 0


class FakeTickets:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def next_number(self) -> int:
        self.s.counter += 1
        return self.s.counter

    async def add(self, ticket: Ticket) -> None:
        self.s.tickets[ticket.number] = copy.deepcopy(ticket)

    async def get(self, number: int) -> Ticket | None:
        found = self.s.tickets.get(number)
        return None if found is None else copy.deepcopy(found)

    async def save(self, ticket: Ticket) -> None:
        self.s.tickets[ticket.number] = copy.deepcopy(ticket)

    async def list(self, status: Status | None = None,
                   limit: int | None = None) -> builtins.list[Ticket]:
        found = [t for t in self.s.tickets.values() if status in (None, t.status)]
        return found[:limit]

    async def requested_by(self, person_id: int, limit: int) -> builtins.list[Ticket]:
        mine = [t for t in self.s.tickets.values() if t.requester_id == person_id]
        return sorted(mine, key=lambda t: t.number, reverse=True)[:limit]

    async def due_waiting(self, now: dt.datetime) -> builtins.list[int]:
        return [t.number for t in self.s.tickets.values()
                if t.status is Status.WAITING and t.waiting_until and t.waiting_until <= now]


class FakePeople:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def get(self, person_id: int) -> Person | None:
        return self.s.people.get(person_id)

    async def by_email(self, address: str) -> Person | None:
        return next((p for p in self.s.people.values() if p.has_email(address)), None)

    async def by_telegram(self, user_id: int) -> Person | None:
        return next((p for p in self.s.people.values() if p.telegram_id == user_id), None)

    async def add(self, person: NewPerson) -> Person:
        new = Person(id=len(self.s.people) + 1, name=person.name, role=person.role,
                     emails=person.emails, telegram_id=person.telegram_id,
                     company_id=person.company_id, language=person.language)
        self.s.people[new.id] = new
        return new

    async def add_unless_known(self, person: NewPerson) -> Person | None:
        known = [p for p in self.s.people.values()
                 if any(p.has_email(a) for a in person.emails)
                 or (person.telegram_id is not None and p.telegram_id == person.telegram_id)]
        return None if known else await self.add(person)

    async def with_role(self, *roles: Role) -> list[Person]:
        return [p for p in self.s.people.values() if p.role in roles]

    async def company(self, company_id: int) -> Company | None:
        return self.s.companies.get(company_id)


class FakeComments:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def add(self, comment: Comment) -> int:
        stored = replace(comment, id=len(self.s.comments) + 1)
        self.s.comments.append(stored)
        return stored.id

    async def for_ticket(self, number: int) -> builtins.list[Comment]:
        return [c for c in self.s.comments if c.ticket == number]

    async def by_ref(self, ticket: int, source_ref: str) -> CommentRef | None:
        mine = [c for c in self.s.comments if c.ticket == ticket]
        found = next((c for c in mine if c.source_ref == source_ref), None)
        return None if found is None else CommentRef(found.id, found.author_id,
                                                     found.id == mine[0].id)

    async def set_body(self, comment_id: int, body: str) -> None:
        self.s.comments = [replace(c, body=body) if c.id == comment_id else c
                           for c in self.s.comments]

    async def set_public(self, comment_id: int, public: bool) -> None:
        self.s.comments = [replace(c, public=public) if c.id == comment_id else c
                           for c in self.s.comments]


class FakeEvents:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def append(self, event: Event) -> int:
        stored = StoredEvent(id=len(self.s.events) + 1, kind=event.kind, ticket=event.ticket,
                             actor=event.actor, at=event.at, channel=event.channel,
                             payload=event.payload())
        self.s.events.append(stored)
        return stored.id

    async def record(self, event: DeskEvent) -> int:
        self.s.desk_events.append(event)
        return len(self.s.desk_events)

    async def record_all(self, events: Sequence[DeskEvent]) -> None:
        self.s.desk_events.extend(events)

    async def for_ticket(self, number: int) -> list[StoredEvent]:
        return [e for e in self.s.events if e.ticket == number]


class FakeOutbox:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def enqueue(self, item: OutboxItem) -> bool:
        if item.key in self.s.outbox:
            return False
        self.s.outbox[item.key] = item
        return True

    def _waiting(self, now: dt.datetime) -> list[OutboxItem]:
        return [i for i in self.s.outbox.values() if i.cause is not None
                and i.key not in self.s.withdrawn and i.not_before is not None
                and i.not_before > now]

    async def held(self, now: dt.datetime) -> list[Held]:
        causes: dict[int, int | None] = {}
        for item in self._waiting(now):
            assert item.cause is not None
            causes.setdefault(item.cause, item.ticket)
        return [Held(cause, ticket) for cause, ticket in sorted(causes.items())]

    async def revise(self, item: OutboxItem) -> None:
        if item.key in self.s.outbox:
            self.s.outbox[item.key] = item

    async def withdraw(self, cause: int, now: dt.datetime) -> list[OutboxItem]:
        items = [i for i in self._waiting(now) if i.cause == cause]
        self.s.withdrawn.update(i.key for i in items)
        return items

    async def retry(self, id: int) -> bool:
        return False  # the fake keeps items to send, never a delivery given up


class FakeRefs:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def add(self, ref: str, ticket: int, direction: str) -> None:
        self.s.refs.setdefault(ref.lower(), ticket)

    async def find(self, refs: Sequence[str]) -> int | None:
        return next((self.s.refs[r.lower()] for r in refs if r.lower() in self.s.refs), None)


class FakeSuppressions:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def add(self, address: str, reason: str, at: dt.datetime) -> None:
        self.s.suppressed[address.strip().lower()] = (reason, at)

    async def remove(self, address: str) -> str | None:
        was = self.s.suppressed.pop(address.strip().lower(), None)
        return None if was is None else was[0]


class FakeDialogs:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def answered(self, keys: Sequence[str]) -> dict[str, bool]:
        return {k: self.s.dialogs[k].answered_at is not None for k in keys if k in self.s.dialogs}

    async def save(self, dialogs: Sequence[Dialog]) -> None:
        self.s.dialogs.update((d.key, d) for d in dialogs)

    async def save_messages(self, messages: Sequence[StoredMessage]) -> None:
        self.s.chat_messages.update(((m.chat_id, m.message_id), m) for m in messages)

    async def settle(self, journal_ids: Sequence[int]) -> None:
        self.s.settled.extend(journal_ids)


class NoDirectory:
    """F11's directories are tested on SQL only (tests/test_directories*.py): here, empty."""

    async def lookups(self) -> Lookups:
        return Lookups({}, {}, {}, {})

    async def existing(self, kind: str) -> dict[Hashable, Stored]:
        return {}

    async def write(self, kind: str, inserts: Sequence[Checked],
                    updates: Sequence[tuple[int, Checked]]) -> builtins.list[int]:
        raise NotImplementedError

    async def resolve(self, kind: str, text: str) -> builtins.list[int]:
        return []

    async def search(self, kind: str, text: str, limit: int) -> builtins.list[int]:
        return []

    async def cards(self, kind: str, ids: Sequence[int]) -> builtins.list[Card]:
        return []

    async def company_of(self, kind: str, entry_id: int) -> int | None:
        return None

    async def manager_of(self, kind: str, entry_id: int) -> int | None:
        return None

    async def ticket_numbers(self, where: TicketFilter) -> builtins.list[int]:
        return []

    async def rows(self, kind: str) -> builtins.list[dict[str, str]]:
        return []


class FakeUnitOfWork:
    """Works on a deep copy of the store and writes it back only on commit."""

    def __init__(self, shared: Store) -> None:
        self.shared = shared

    async def __aenter__(self) -> FakeUnitOfWork:
        self.work = copy.deepcopy(self.shared)
        # Typed as the ports, as the engine sees them (Protocol attributes are invariant).
        self.tickets: TicketRepository = FakeTickets(self.work)
        self.people: PersonRepository = FakePeople(self.work)
        self.comments: CommentRepository = FakeComments(self.work)
        self.events: EventLog = FakeEvents(self.work)
        self.outbox: Outbox = FakeOutbox(self.work)
        self.refs: MessageRefs = FakeRefs(self.work)
        self.suppressions: AddressSuppressions = FakeSuppressions(self.work)
        self.dialogs: DialogRepository = FakeDialogs(self.work)
        self.directory: DirectoryStore = NoDirectory()
        self.committed = False
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def commit(self) -> None:
        self.shared.__dict__.update(self.work.__dict__)
        self.committed = True
