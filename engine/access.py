"""F3: who may see and do what, decided by role and stable person id, never by names."""

from __future__ import annotations

from enum import StrEnum

from engine.model import Person, Role, Ticket


class Action(StrEnum):
    VIEW = "view"
    COMMENT = "comment"
    NOTE = "note"
    TAKE = "take"
    ASSIGN = "assign"
    STATUS = "status"
    PRIORITY = "priority"
    OBSERVE = "observe"
    METRICS = "metrics"
    RESCUE = "rescue"  # turn a mail the intake ignored into a ticket
    MERGE = "merge"  # join another ticket into this one, or be joined (F17)


# What a specialist may do on a ticket they can see but is not theirs (the unassigned
# queue and tickets they observe): read, talk, and take it if nobody has.
_SPECIALIST_ON_OTHERS = frozenset({Action.VIEW, Action.COMMENT, Action.NOTE})
_CLIENT_ACTIONS = frozenset({Action.VIEW, Action.COMMENT})
# What a specialist may do on a ticket nobody has taken: take it, or merge it as a duplicate.
_WHEN_UNASSIGNED = frozenset({Action.TAKE, Action.MERGE})


def can_view(person: Person, ticket: Ticket) -> bool:
    if ticket.internal and not person.role.is_staff:
        return False  # seed 003: an internal ticket is the staff's alone
    if person.role.sees_everything:
        return True
    if person.role is Role.SPECIALIST:
        # What the staff chat shows, its members may read: any ticket of the desk. What
        # they may change is `allowed`'s business.
        return True
    if person.company_id is not None and ticket.company_id == person.company_id:
        return True
    return ticket.requester_id == person.id or person.id in ticket.observers


def allowed(person: Person | None, action: Action, ticket: Ticket | None = None) -> bool:
    """Whether `person` (None is the service itself) may do `action` on `ticket`."""
    if person is None or person.role.sees_everything:
        return True
    if ticket is None:
        return action in (Action.METRICS, Action.RESCUE) and person.role is Role.SPECIALIST
    if not can_view(person, ticket):
        return False
    if person.role is Role.CLIENT:
        return action in _CLIENT_ACTIONS
    if ticket.responsible_id == person.id:
        return True
    if action in _WHEN_UNASSIGNED:
        return ticket.responsible_id is None
    return action in _SPECIALIST_ON_OTHERS
