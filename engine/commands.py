"""Commands: the engine's whole input vocabulary. Channels build these; handlers carry them out.

`actor` is the stable person id the channel resolved (Telegram user id, verified address);
None means the service itself (scheduled jobs). `at` is when the person acted, as the
channel saw it (mail INTERNALDATE, Telegram message date), so a late fetch changes no clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.model import Attachment, Status


@dataclass(frozen=True)
class Command:
    actor: int | None
    channel: str
    at: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class OpenTicket(Command):
    subject: str
    description: str
    requester_id: int | None = None
    type: str | None = None
    priority: str | None = None
    observers: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    responsible_id: int | None = None
    creator_id: int | None = None  # staff only: who set the task (seed 002: the lead)
    source_ref: str | None = None
    attachments: tuple[Attachment, ...] = ()
    linked_to: int | None = None


@dataclass(frozen=True, kw_only=True)
class AddComment(Command):
    ticket: int
    body: str
    public: bool
    source_ref: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class EditComment(Command):
    """The author changed a message the ticket already holds (a Telegram edit)."""

    ticket: int
    source_ref: str
    body: str


@dataclass(frozen=True, kw_only=True)
class Take(Command):
    ticket: int


@dataclass(frozen=True, kw_only=True)
class Assign(Command):
    ticket: int
    person_id: int | None


@dataclass(frozen=True, kw_only=True)
class SetStatus(Command):
    ticket: int
    status: Status
    until: dt.datetime | None = None
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class Close(Command):
    ticket: int
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class SetPriority(Command):
    ticket: int
    priority: str


@dataclass(frozen=True, kw_only=True)
class AddObserver(Command):
    ticket: int
    person_id: int


@dataclass(frozen=True, kw_only=True)
class AddTag(Command):
    ticket: int
    tag: str


@dataclass(frozen=True, kw_only=True)
class ReturnDueWaiting(Command):
    """Scheduled: every `waiting` ticket whose until-time has passed goes back to `open`."""
