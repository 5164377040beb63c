"""Events: what happened to a ticket. Stored append-only as the audit trail; notifications
and SLA bookkeeping react to them. Every event names its ticket, actor, time and channel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any, ClassVar

_OWN_FIELDS: dict[type, tuple[str, ...]] = {}


def _own_fields(cls: type[Event]) -> tuple[str, ...]:
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
        data = {name: getattr(self, name) for name in _own_fields(type(self))}
        return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in data.items()}


@dataclass(frozen=True, kw_only=True)
class TicketOpened(Event):
    subject: str
    requester_id: int | None
    responsible_id: int | None
    linked_to: int | None = None
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


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        TicketOpened, CommentAdded, CommentEdited, StatusChanged, ResponsibleChanged,
        PriorityChanged, ObserverAdded, TagAdded, TicketRated,
    )
}
