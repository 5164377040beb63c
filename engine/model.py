"""The ticket domain: roles, the status workflow, and the records the engine keeps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    SPECIALIST = "specialist"
    CLIENT = "client"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CLIENT

    @property
    def sees_everything(self) -> bool:
        return self in (Role.ADMIN, Role.LEAD)


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


# F2 (seed 003). `closed` is final: a client reply to it opens a new, linked ticket.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.IN_PROGRESS, Status.WAITING, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.WAITING, Status.RESOLVED}),
    Status.WAITING: frozenset({Status.OPEN, Status.IN_PROGRESS, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),
    Status.CLOSED: frozenset(),
}

# Statuses in which the work is done; the SLA clock and the queue ignore them.
FINISHED = frozenset({Status.RESOLVED, Status.CLOSED})


def can_transition(old: Status, new: Status) -> bool:
    return new in TRANSITIONS[old]


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: Role
    emails: tuple[str, ...] = ()
    telegram_id: int | None = None
    company_id: int | None = None
    language: str = "en"
    notify_via: str = "auto"
    username: str | None = None

    def has_email(self, address: str) -> bool:
        return address.lower() in self.emails


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    domains: tuple[str, ...] = ()
    manager_id: int | None = None


@dataclass(frozen=True)
class Attachment:
    """A file on a comment. Arriving, it carries its bytes (`data`); read back from the
    store it is metadata only (`data` empty, `size` the stored size): bytes are fetched by
    `id` on demand (`Views.attachment_bytes`), so rendering a ticket never loads them.
    `content_type` is the type detected from the bytes (engine/files.py), `declared_type`
    what the sender said; `refused` is why the file was not kept (a limit), else None.
    `found_in` names the inbound row whose raw mail holds the bytes, so the store keeps a
    reference instead of a second copy."""

    filename: str
    content_type: str
    data: bytes = b""
    size: int = -1  # -1: len(data)
    id: int = 0
    sha256: str = ""
    declared_type: str = ""
    refused: str | None = None
    found_in: int | None = None

    def __post_init__(self) -> None:
        if self.size < 0:
            object.__setattr__(self, "size", len(self.data))

    @property
    def has_bytes(self) -> bool:
        """The bytes travel with this value (not only its metadata)."""
        return len(self.data) == self.size


@dataclass
class Ticket:
    """A ticket as handlers read and change it; the repository persists it."""

    number: int
    subject: str
    description: str
    status: Status
    created_at: dt.datetime
    updated_at: dt.datetime
    channel: str
    type: str = "question"
    priority: str = "normal"
    requester_id: int | None = None
    company_id: int | None = None
    responsible_id: int | None = None
    creator_id: int | None = None
    observers: set[int] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    cc: tuple[str, ...] = ()
    waiting_until: dt.datetime | None = None
    planned_resolution: dt.datetime | None = None
    time_spent_minutes: int = 0
    source_ref: str | None = None
    linked_to: int | None = None
    first_response_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    sla_policy: str | None = None
    first_response_due: dt.datetime | None = None
    resolution_due: dt.datetime | None = None
    next_response_due: dt.datetime | None = None
    # Opened by staff with an internal type (seed 003): never shown to clients.
    internal: bool = False
    desk: str | None = None  # engine/desks.py; None: the default desk of a desk-less setup
    # F11: the directory entries the ticket is about (engine/directory_links.py).
    contract_id: int | None = None
    object_id: int | None = None
    equipment_id: int | None = None

    def involves(self, person_id: int) -> bool:
        return person_id in (self.requester_id, self.responsible_id, self.creator_id) or (
            person_id in self.observers
        )


@dataclass(frozen=True)
class Comment:
    ticket: int
    author_id: int | None
    body: str
    public: bool
    channel: str
    created_at: dt.datetime
    source_ref: str | None = None
    attachments: tuple[Attachment, ...] = ()
    id: int = 0


def one_line(text: str) -> str:
    """Subjects are single-line by construction: line breaks (CR, LF, the Unicode ones) and
    runs of spaces become one space, so no subject can split a mail header or inject one."""
    return " ".join(text.split())
