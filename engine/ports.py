"""The engine's ports: what it needs from storage and time, and nothing more.

The SQL adapters in `engine/store/` implement these; unit tests use small in-memory fakes.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.dialogs import Dialog, StoredMessage
from engine.directory_store import DirectoryStore
from engine.events import DeskEvent, Event
from engine.model import Comment, Company, Person, Role, Status, Ticket
from engine.notify.kinds import NoticeKind


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    """The one real clock; tests inject their own."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class NewPerson:
    name: str
    role: Role = Role.CLIENT
    emails: tuple[str, ...] = ()
    telegram_id: int | None = None
    company_id: int | None = None
    language: str = "en"
    username: str | None = None


@dataclass(frozen=True)
class OutboxItem:
    """One message to deliver. `key` is unique: enqueueing the same key twice is a no-op."""

    key: str
    channel: str
    recipient: str
    kind: NoticeKind
    ticket: int | None = None
    person_id: int | None = None
    language: str = "en"
    payload: dict[str, Any] = field(default_factory=dict)
    not_before: dt.datetime | None = None
    # The event (id) whose withdrawal cancels this row while it waits (`/undo`).
    cause: int | None = None


@dataclass(frozen=True)
class StoredEvent:
    id: int
    kind: str
    ticket: int
    actor: int | None
    at: dt.datetime
    channel: str
    payload: dict[str, Any]


class TicketRepository(Protocol):
    async def next_number(self) -> int: ...
    async def add(self, ticket: Ticket) -> None: ...
    async def get(self, number: int) -> Ticket | None: ...
    async def save(self, ticket: Ticket) -> None: ...
    async def list(self, status: Status | None = None,
                   limit: int | None = None) -> builtins.list[Ticket]: ...
    async def due_waiting(self, now: dt.datetime) -> builtins.list[int]: ...
    async def requested_by(self, person_id: int, limit: int) -> builtins.list[Ticket]: ...


class PersonRepository(Protocol):
    async def get(self, person_id: int) -> Person | None: ...
    async def by_email(self, address: str) -> Person | None: ...
    async def by_telegram(self, user_id: int) -> Person | None: ...
    async def add(self, person: NewPerson) -> Person: ...
    async def add_unless_known(self, person: NewPerson) -> Person | None:
        """`add`, or None when another worker gave one of the person's mail addresses or
        the Telegram id to someone meanwhile (look them up again): never a unique-key
        error that would roll back the caller's transaction."""
        ...
    async def with_role(self, *roles: Role) -> list[Person]: ...
    async def company(self, company_id: int) -> Company | None: ...


@dataclass(frozen=True)
class CommentRef:
    id: int
    author_id: int | None
    first: bool  # the ticket's first comment holds its description


class CommentRepository(Protocol):
    async def add(self, comment: Comment) -> int: ...
    async def by_ref(self, ticket: int, source_ref: str) -> CommentRef | None: ...
    async def set_body(self, comment_id: int, body: str) -> None: ...
    async def set_public(self, comment_id: int, public: bool) -> None: ...
    async def for_ticket(self, number: int) -> list[Comment]: ...


class EventLog(Protocol):
    async def append(self, event: Event) -> int: ...
    async def record(self, event: DeskEvent) -> int:
        """A desk event: the same log, with no ticket."""
        ...
    async def record_all(self, events: Sequence[DeskEvent]) -> None:
        """Desk events in one statement: a batch of chat messages records many."""
        ...
    async def for_ticket(self, number: int) -> list[StoredEvent]: ...


@dataclass(frozen=True)
class Held:
    """Rows still waiting to go out because of one event (`OutboxItem.cause`)."""

    cause: int
    ticket: int | None


class Outbox(Protocol):
    async def enqueue(self, item: OutboxItem) -> bool: ...
    async def held(self, now: dt.datetime) -> list[Held]:
        """Causes with rows not sent, not claimed and not yet due, oldest first."""
        ...
    async def withdraw(self, cause: int, now: dt.datetime) -> list[OutboxItem]:
        """Give up the rows of `cause` not sent and not claimed; the rows given up."""
        ...
    async def revise(self, item: OutboxItem) -> None:
        """A row queued earlier in this transaction, said again with more in it (its kind,
        payload, not_before and cause; by key)."""
        ...
    async def retry(self, id: int) -> bool:
        """A set-aside (given up, unsent) row due again with no attempt counted; False
        when no such row is set aside."""
        ...


class MessageRefs(Protocol):
    """Every message id the system knows (mail Message-IDs, chat message refs), in and out."""

    async def add(self, ref: str, ticket: int, direction: str) -> None: ...
    async def find(self, refs: Sequence[str]) -> int | None: ...


class AddressSuppressions(Protocol):
    """Addresses we must not mail (the outbox sender reads them)."""

    async def add(self, address: str, reason: str, at: dt.datetime) -> None:
        """Idempotent per address; a later call refreshes the reason and time."""
        ...

    async def remove(self, address: str) -> str | None:
        """Lift it; the reason it was suppressed for, or None if it was not."""
        ...


class DialogRepository(Protocol):
    """First-line dialogs and the support-group messages they are made of, keyed by the
    ref of a dialog's first message (`Dialog.key`)."""

    async def answered(self, keys: Sequence[str]) -> dict[str, bool]:
        """Of these dialogs, the stored ones, and whether each was answered already."""
        ...
    async def save(self, dialogs: Sequence[Dialog]) -> None:
        """Insert or update, by key."""
        ...
    async def save_messages(self, messages: Sequence[StoredMessage]) -> None:
        """Insert or update (text, edit time, dialog), by chat and message id."""
        ...
    async def settle(self, journal_ids: Sequence[int]) -> None:
        """The chat updates (inbound journal rows) a batch came from are done with it."""
        ...


class UnitOfWork(Protocol):
    tickets: TicketRepository
    people: PersonRepository
    comments: CommentRepository
    events: EventLog
    outbox: Outbox
    refs: MessageRefs
    suppressions: AddressSuppressions
    dialogs: DialogRepository
    directory: DirectoryStore  # F11

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
