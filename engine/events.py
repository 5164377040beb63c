"""Events: what happened to a ticket. Stored append-only as the audit trail; notifications
and SLA bookkeeping react to them. Every event names its ticket, actor, time and channel.

Desk events (`DeskEvent`) are what happened at the service desk outside any ticket: a
contact registered, an address suppressed, a mail ignored, a question asked or answered
in the support group. They go to the same log with no ticket, and are a class apart, so
the reactors (typed on ticket events) never see them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any, ClassVar

_OWN_FIELDS: dict[type, tuple[str, ...]] = {}


def _own_fields(cls: type) -> tuple[str, ...]:
    if cls not in _OWN_FIELDS:
        _OWN_FIELDS[cls] = tuple(f.name for f in fields(cls)
                                 if f.name not in ("ticket", "actor", "at", "channel"))
    return _OWN_FIELDS[cls]


@dataclass(frozen=True)
class Event:
    ticket: int
    actor: int | None
    at: dt.datetime
    channel: str
    kind: ClassVar[str] = "event"

    def payload(self) -> dict[str, Any]:
        """The event's own fields, JSON-ready (its values are flat: no asdict recursion)."""
        return _payload(self)


def _payload(event: object) -> dict[str, Any]:
    data = {name: getattr(event, name) for name in _own_fields(type(event))}
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in data.items()}


@dataclass(frozen=True, kw_only=True)
class TicketOpened(Event):
    subject: str
    requester_id: int | None
    responsible_id: int | None
    linked_to: int | None = None
    acknowledge: bool = True  # False: no ack or copy notice (a rescued mail)
    notify_cc: tuple[str, ...] = ()  # the Cc addresses told "you are in copy"
    kind: ClassVar[str] = "opened"


@dataclass(frozen=True, kw_only=True)
class CommentAdded(Event):
    comment_id: int
    public: bool
    by_staff: bool
    kind: ClassVar[str] = "comment"


@dataclass(frozen=True, kw_only=True)
class CommentEdited(Event):
    comment_id: int
    kind: ClassVar[str] = "edit"


@dataclass(frozen=True, kw_only=True)
class CommentWithdrawn(Event):
    """A public answer taken back during its grace period (`/undo`): what was still waiting
    in the outbox is not sent, and the comment stays on the ticket as an internal note.
    `cause` is the id of the answer's `CommentAdded` event."""

    comment_id: int
    cause: int
    withdrawn: int  # outbox rows given up
    kind: ClassVar[str] = "withdrawn"


@dataclass(frozen=True, kw_only=True)
class StatusChanged(Event):
    old: str
    new: str
    until: dt.datetime | None = None
    kind: ClassVar[str] = "status"


@dataclass(frozen=True, kw_only=True)
class ResponsibleChanged(Event):
    old: int | None
    new: int | None
    kind: ClassVar[str] = "responsible"


@dataclass(frozen=True, kw_only=True)
class PriorityChanged(Event):
    old: str
    new: str
    kind: ClassVar[str] = "priority"


@dataclass(frozen=True, kw_only=True)
class ObserverAdded(Event):
    person_id: int
    kind: ClassVar[str] = "observer"


@dataclass(frozen=True, kw_only=True)
class TagAdded(Event):
    tag: str
    kind: ClassVar[str] = "tag"


@dataclass(frozen=True, kw_only=True)
class TicketRated(Event):
    score: int
    resolution_at: dt.datetime
    kind: ClassVar[str] = "rated"


@dataclass(frozen=True, kw_only=True)
class TicketRouted(Event):
    """F12: a routing rule decided about a new ticket; each field it set (None or empty:
    left alone). Its history line: "assigned to Sam by rule 'acme-manager'"."""

    rule: str
    desk: str | None = None
    responsible_id: int | None = None
    observers: tuple[int, ...] = ()
    type: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    kind: ClassVar[str] = "routed"


@dataclass(frozen=True, kw_only=True)
class TicketMoved(Event):
    """`/move N desk`: the ticket now belongs to another desk (engine/desks.py)."""

    old: str | None
    new: str
    kind: ClassVar[str] = "moved"


@dataclass(frozen=True, kw_only=True)
class TicketMerged(Event):
    """F17 `/merge N M`: ticket `source` (M) joined `target` (N). Recorded on both tickets;
    on M it is followed by M's own closing (`StatusChanged` to closed)."""

    source: int
    target: int
    kind: ClassVar[str] = "merged"


@dataclass(frozen=True, kw_only=True)
class FilesRefused(Event):
    """Files of one message not kept because of a size limit (engine/files.py): each as
    (name, size, reason). The message and its other files are kept."""

    comment_id: int
    files: tuple[tuple[str, int, str], ...]
    kind: ClassVar[str] = "files_refused"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        TicketOpened, CommentAdded, CommentEdited, CommentWithdrawn, StatusChanged, ResponsibleChanged,
        PriorityChanged, ObserverAdded, TagAdded, TicketRated, TicketRouted, TicketMoved,
        TicketMerged,
        FilesRefused,
    )
}


# --- ticket fields (engine/fields.py) ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TypeChanged(Event):
    old: str
    new: str
    kind: ClassVar[str] = "type"


@dataclass(frozen=True, kw_only=True)
class TagRemoved(Event):
    tag: str
    kind: ClassVar[str] = "untag"


@dataclass(frozen=True, kw_only=True)
class ObserverRemoved(Event):
    person_id: int
    kind: ClassVar[str] = "unobserve"


@dataclass(frozen=True, kw_only=True)
class CcAdded(Event):
    address: str
    kind: ClassVar[str] = "cc_added"


@dataclass(frozen=True, kw_only=True)
class CcRemoved(Event):
    address: str
    kind: ClassVar[str] = "cc_removed"


@dataclass(frozen=True, kw_only=True)
class DueChanged(Event):
    """The planned resolution date (staff only, never shown to clients)."""

    old: dt.datetime | None
    new: dt.datetime | None
    kind: ClassVar[str] = "due"


@dataclass(frozen=True, kw_only=True)
class TimeSpent(Event):
    """Work time logged (staff only, never shown to clients): this entry and the total."""

    minutes: int
    total: int
    kind: ClassVar[str] = "spent"


EVENT_TYPES.update({cls.kind: cls for cls in (TypeChanged, TagRemoved, ObserverRemoved,
                                              CcAdded, CcRemoved, DueChanged, TimeSpent)})


# --- desk events: no ticket ------------------------------------------------------------------


@dataclass(frozen=True)
class DeskEvent:
    actor: int | None
    at: dt.datetime
    channel: str
    kind: ClassVar[str] = "desk"

    def payload(self) -> dict[str, Any]:
        """The event's own fields, JSON-ready, as for a ticket event."""
        return _payload(self)


@dataclass(frozen=True, kw_only=True)
class ContactRegistered(DeskEvent):
    """An unknown sender became a client."""

    person_id: int
    address: str | None = None
    telegram_id: int | None = None
    kind: ClassVar[str] = "contact_registered"


@dataclass(frozen=True, kw_only=True)
class AddressSuppressed(DeskEvent):
    """No more mail to this address (a bounce of our mail said it does not exist)."""

    address: str
    reason: str
    kind: ClassVar[str] = "address_suppressed"


@dataclass(frozen=True, kw_only=True)
class MailRescued(DeskEvent):
    """Staff turned an ignored mail into a ticket: which inbound row, which ticket it
    `became` (a desk event: its row names no ticket, like `QuestionAnswered`)."""

    inbound_id: int
    became: int
    kind: ClassVar[str] = "mail_rescued"


@dataclass(frozen=True, kw_only=True)
class AddressUnsuppressed(DeskEvent):
    """A suppressed address is mailed again (it wrote to us), with the suppression it ends."""

    address: str
    reason: str
    suppressed_for: str
    kind: ClassVar[str] = "address_unsuppressed"


@dataclass(frozen=True, kw_only=True)
class MailIgnored(DeskEvent):
    """The intake left a mail alone (noise, a replay, a refused command or vote): which
    inbound row, why, and by which rule."""

    inbound_id: int
    reason: str
    rule: str | None
    kind: ClassVar[str] = "mail_ignored"


@dataclass(frozen=True, kw_only=True)
class MailRequeued(DeskEvent):
    """Staff sent a quarantined mail through the intake again (which inbound row)."""

    inbound_id: int
    kind: ClassVar[str] = "mail_requeued"


@dataclass(frozen=True, kw_only=True)
class DeliveryRetried(DeskEvent):
    """Staff put a set-aside outbox row back in the queue."""

    outbox_id: int
    kind: ClassVar[str] = "delivery_retried"


@dataclass(frozen=True, kw_only=True)
class QuestionAsked(DeskEvent):
    """A first-line dialog began: someone asked in the support group (the actor). `at` is
    the question's own date; `dialog` is the ref of its first message."""

    dialog: str
    chat_id: int
    kind: ClassVar[str] = "question_asked"


@dataclass(frozen=True, kw_only=True)
class QuestionAnswered(DeskEvent):
    """The first specialist answer to a first-line dialog (the actor answered; `/ticket` on
    an unanswered question counts, and names the ticket it `became`). `at` is the answer's
    own date; `response_seconds` is the first line's response time for this question."""

    dialog: str
    chat_id: int
    asked_by: int
    response_seconds: int
    became: int | None = None
    kind: ClassVar[str] = "question_answered"


DESK_EVENT_TYPES: dict[str, type[DeskEvent]] = {
    cls.kind: cls for cls in (ContactRegistered, AddressSuppressed, AddressUnsuppressed,
                              MailIgnored, QuestionAsked, QuestionAnswered, MailRescued,
                              DeliveryRetried, MailRequeued)
}


# --- F11 directories --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DirectoryLinkChanged(Event):
    """A ticket's company, requester, contract, object or equipment changed (`field`);
    `old` and `new` are directory ids, None for none."""

    field: str
    old: int | None
    new: int | None
    kind: ClassVar[str] = "directory_link"


@dataclass(frozen=True, kw_only=True)
class DirectoryImported(DeskEvent):
    """Staff added or updated directory entries (`ticketbot directory import`, `... add`,
    the config at start): how many rows were added, updated, unchanged, and each refused
    row's line, reason (an i18n key) and value; `ids`, the entry of each accepted row."""

    directory: str
    added: int
    updated: int
    unchanged: int
    refused: tuple[tuple[int, str, str], ...] = ()
    ids: tuple[int, ...] = ()
    kind: ClassVar[str] = "directory_imported"


EVENT_TYPES[DirectoryLinkChanged.kind] = DirectoryLinkChanged
DESK_EVENT_TYPES[DirectoryImported.kind] = DirectoryImported
