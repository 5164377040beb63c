"""F9: who hears about what (the seed 000 matrix), as pure decisions over an event.

Delivery is not done here: each decision becomes an outbox row keyed by event, kind and
recipient, so the same event never notifies the same person twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import events as e
from engine.model import Person, Status, Ticket
from engine.notify.kinds import NoticeKind as K


@dataclass(frozen=True)
class Audience:
    """The people of a ticket, loaded once per event."""

    ticket: Ticket
    requester: Person | None
    responsible: Person | None
    observers: tuple[Person, ...]
    leads: tuple[Person, ...]
    old_responsible: Person | None = None


@dataclass(frozen=True)
class Notice:
    kind: K
    person: Person | None = None
    address: str | None = None


def plan(event: e.Event, who: Audience) -> list[Notice]:
    """Notices for one event, the actor left out (nobody hears of their own action),
    except the acknowledgement a requester gets for the ticket they opened."""
    planner = _PLANNERS.get(type(event))
    notices = [] if planner is None else planner(event, who)
    if who.ticket.internal:  # seed 003: staff only, whoever else the rules name
        notices = [n for n in notices if n.person is not None and n.person.role.is_staff]
    return _dedupe([n for n in notices if n.kind is K.ACK or _not_actor(n, event)])


def _not_actor(notice: Notice, event: e.Event) -> bool:
    return notice.person is None or notice.person.id != event.actor


def _dedupe(notices: list[Notice]) -> list[Notice]:
    seen: set[object] = set()
    kept = []
    for n in notices:
        key = n.person.id if n.person is not None else n.address
        if key not in seen:
            seen.add(key)
            kept.append(n)
    return kept


def _people(kind: K, *people: Person | None) -> list[Notice]:
    return [Notice(kind, person=p) for p in people if p is not None]


def _opened(event: e.Event, who: Audience) -> list[Notice]:
    assert isinstance(event, e.TicketOpened)
    if not event.acknowledge:  # a rescued mail: staff hear of it, its sender does not
        return _people(K.ASSIGNED, who.responsible) + _people(K.CREATED, *who.leads)
    cc = [Notice(K.CREATED_CC, address=a) for a in event.notify_cc]
    return (_people(K.ACK, who.requester) + _people(K.ASSIGNED, who.responsible)
            + _people(K.CREATED, *who.leads) + _people(K.CREATED, *who.observers) + cc)


def _comment(event: e.Event, who: Audience) -> list[Notice]:
    assert isinstance(event, e.CommentAdded)
    staff_observers = [p for p in who.observers if p.role.is_staff]
    if not event.public:
        return _people(K.NOTE, who.responsible, *staff_observers)
    return _people(K.COMMENT, who.requester, who.responsible, *who.observers)


def _status(event: e.Event, who: Audience) -> list[Notice]:
    """The requester is not told that someone started working ("in progress"): their next
    message is the answer (a mail ticket's life: acknowledgement, answer, resolution,
    rating)."""
    assert isinstance(event, e.StatusChanged)
    requester = None if event.new == Status.IN_PROGRESS.value else who.requester
    observers = [p for p in who.observers
                 if requester is not None or who.requester is None or p.id != who.requester.id]
    return _people(K.STATUS, requester, who.responsible, *observers)


def _responsible(event: e.Event, who: Audience) -> list[Notice]:
    observers = [p for p in who.observers if p.id != (who.requester and who.requester.id)]
    return (_people(K.ASSIGNED, who.responsible) + _people(K.UNASSIGNED, who.old_responsible)
            + _people(K.RESPONSIBLE, *observers))


def _observer(event: e.Event, who: Audience) -> list[Notice]:
    assert isinstance(event, e.ObserverAdded)
    return [Notice(K.OBSERVING, person=p) for p in who.observers if p.id == event.person_id]


def _cc_added(event: e.Event, who: Audience) -> list[Notice]:
    """An address put in copy later hears what the first mail's copies heard."""
    assert isinstance(event, e.CcAdded)
    return [Notice(K.CREATED_CC, address=event.address)]


def _merged(event: e.Event, who: Audience) -> list[Notice]:
    """F17: the merged ticket's clients (requester, client observers) hear where it went;
    the ticket that took it in tells nobody (its trail records it)."""
    assert isinstance(event, e.TicketMerged)
    if event.ticket != event.source:
        return []
    clients = [p for p in who.observers if not p.role.is_staff]
    return _people(K.MERGED, who.requester, *clients)


_PLANNERS = {
    e.TicketOpened: _opened,
    e.CommentAdded: _comment,
    e.StatusChanged: _status,
    e.ResponsibleChanged: _responsible,
    e.ObserverAdded: _observer,
    e.CcAdded: _cc_added,
    e.TicketMerged: _merged,
}
