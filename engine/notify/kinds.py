"""Every kind of outbox row, once: who may read it and where it is shown.

Channels ask a kind instead of keeping their own lists, so a new notification is one member
here, its texts in `bot/i18n.py`, and the renderers' `match` (tests fail until all three
agree). The outbox stores the value as a plain string; a stored string that names no member
is refused when read back (`engine/store/outbox.py`), never guessed at.
"""

from __future__ import annotations

from enum import Enum, StrEnum

from engine import events as e


class Reader(Enum):
    """Who may read a kind: a client too, or staff only."""

    CLIENT = "client"
    STAFF = "staff"


class Place(Enum):
    """Where a kind of row is shown."""

    MAIL = "mail"
    PRIVATE = "private"  # a person's private Telegram chat
    GROUP = "group"  # the support group's thread of the ticket
    CARD = "card"  # the ticket's status card, in the support group and the staff chat
    STAFF_CHAT = "staff_chat"


_ANYONE = frozenset({Reader.CLIENT, Reader.STAFF})
_STAFF = frozenset({Reader.STAFF})
_PERSONAL = frozenset({Place.MAIL, Place.PRIVATE})
_CHATS = frozenset({Place.GROUP, Place.PRIVATE, Place.STAFF_CHAT})
_NO_EVENT: frozenset[str] = frozenset()  # queued by a job or a channel, not by an event


def _events(*types: type[e.Event]) -> frozenset[str]:
    return frozenset(t.kind for t in types)


class NoticeKind(StrEnum):
    """Each member: its stored value, who may read it, where it is shown, the engine events
    that produce it (empty for rows queued by a job or a channel), and whether its producer
    wrote the text already (the channel sends it as is)."""

    readers: frozenset[Reader]
    places: frozenset[Place]
    events: frozenset[str]
    prerendered: bool

    def __new__(cls, value: str, readers: frozenset[Reader], places: frozenset[Place],
                events: frozenset[str] = _NO_EVENT, prerendered: bool = False) -> NoticeKind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.readers, member.places = readers, places
        member.events, member.prerendered = events, prerendered
        return member

    # The engine's notices (engine/notify/rules.py). GROUP or CARD: the support group shows
    # the news anyway, so a person who cannot be written to privately is not told there again.
    ACK = "ack", _ANYONE, _PERSONAL | {Place.CARD}, _events(e.TicketOpened)
    CREATED = "created", _STAFF, _PERSONAL | {Place.CARD}, _events(e.TicketOpened)
    CREATED_CC = ("created_cc", _ANYONE, frozenset({Place.MAIL}),
                  _events(e.TicketOpened, e.CcAdded))
    ASSIGNED = ("assigned", _STAFF, _PERSONAL,
                _events(e.TicketOpened, e.ResponsibleChanged))
    UNASSIGNED = "unassigned", _STAFF, _PERSONAL, _events(e.ResponsibleChanged)
    RESPONSIBLE = "responsible", _STAFF, _PERSONAL, _events(e.ResponsibleChanged)
    STATUS = "status", _ANYONE, _PERSONAL | {Place.CARD}, _events(e.StatusChanged)
    COMMENT = "comment", _ANYONE, _PERSONAL | {Place.GROUP}, _events(e.CommentAdded)
    NOTE = "note", _STAFF, _PERSONAL, _events(e.CommentAdded)
    OBSERVING = "observing", _ANYONE, _PERSONAL, _events(e.ObserverAdded)
    # F13: the survey after `resolved` (engine/ratings.py).
    RATING_REQUEST = "rating_request", _ANYONE, _PERSONAL, _events(e.StatusChanged)
    # F8: the escalation ladder (engine/sla/escalation.py), queued by the SLA scan.
    SLA_WARNING = "sla_warning", _STAFF, _PERSONAL | {Place.STAFF_CHAT}
    SLA_BREACH = "sla_breach", _STAFF, _PERSONAL | {Place.STAFF_CHAT}
    # F17: a client's ticket was merged into another (engine/merge.py).
    MERGED = "merged", _ANYONE, _PERSONAL, _events(e.TicketMerged)
    # F10: the metrics digest (bot/digest.py), text and chart made by the job.
    DIGEST = "digest", _STAFF, frozenset({Place.STAFF_CHAT}), _NO_EVENT, True
    # A delivery given up (set aside), told to staff once per row (engine/store/set_aside.py).
    DELIVERY_FAILED = ("delivery_failed", _STAFF,
                       frozenset({Place.MAIL, Place.PRIVATE, Place.STAFF_CHAT}))
    # The mail channel's answer to a mailed command (bot/channels/email/act/replies.py).
    MAIL_REPLY = "mail_reply", _ANYONE, frozenset({Place.MAIL}), _NO_EVENT, True
    # The Telegram channel's own rows (bot/channels/telegram/deliver/outbound.py, mirror.py).
    REPLY = "reply", _ANYONE, _CHATS, _NO_EVENT, True
    EDIT = "edit", _ANYONE, _CHATS, _NO_EVENT, True
    CARD = ("card", _ANYONE, frozenset({Place.CARD}),
            _events(e.TicketOpened, e.StatusChanged, e.ResponsibleChanged, e.PriorityChanged))
    POST = ("post", _ANYONE, frozenset({Place.GROUP, Place.STAFF_CHAT}),
            _events(e.TicketOpened, e.CommentAdded), True)
    # A file of a comment, under the chat message that told of it (queued by the Telegram
    # delivery once that message is sent: bot/channels/telegram/deliver/files.py).
    FILE = "file", _ANYONE, _CHATS, _NO_EVENT, True

    @property
    def for_clients(self) -> bool:
        return Reader.CLIENT in self.readers

    @property
    def shown_in_group(self) -> bool:
        return bool(self.places & {Place.GROUP, Place.CARD})


_BY_VALUE = {k.value: k for k in NoticeKind}


def notice_kind(stored: str) -> NoticeKind:
    """The member for a stored value; a value no member has (a row written by a newer
    version, or by hand) raises `UnknownNoticeKind`."""
    kind = _BY_VALUE.get(stored)
    if kind is None:
        raise UnknownNoticeKind(stored)
    return kind


class UnknownNoticeKind(ValueError):
    def __init__(self, stored: str) -> None:
        super().__init__(f"unknown kind {stored}")
        self.stored = stored
