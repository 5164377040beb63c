"""A message to a finished ticket, the same for mail and chat: comment or follow-up.

Staff never open a follow-up: their messages stay on the ticket (as notes, or refused by
the engine). The requester's side writing to a `resolved` ticket within `reopen_days`
comments on it, and the engine reopens it (F2). To a `closed` ticket (final in F2), or to
one resolved longer ago than `reopen_days`, the message opens a new ticket that links the
old one: an old conversation is not silently brought back to life.
"""

from __future__ import annotations

import datetime as dt

from engine.model import FINISHED, Person, Status, Ticket, can_transition


def finished_at(ticket: Ticket) -> dt.datetime:
    return ticket.closed_at or ticket.resolved_at or ticket.updated_at


def follow_up(ticket: Ticket, sender: Person, at: dt.datetime, reopen_days: int) -> bool:
    """Whether `sender` writing about `ticket` at `at` starts a new, linked ticket."""
    if sender.role.is_staff or ticket.status not in FINISHED:
        return False
    within = at - finished_at(ticket) <= dt.timedelta(days=reopen_days)
    return not (within and can_transition(ticket.status, Status.OPEN))
