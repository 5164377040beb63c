"""F8: a ticket's deadlines as a pure function of its policy, its times and its status history.

The clock stops while the ticket waits on the requester and while it is resolved or closed
(a reopened ticket is not charged for the time it sat resolved). A target that is met or
finished is frozen at that moment, so later pauses never move a deadline already decided.
The business-time arithmetic is the sla-calendar helper's (`engine.sla.clock`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.model import FINISHED, Status
from engine.sla.clock import Pause, deadline_with_pauses
from engine.sla.policy import SlaPolicy

# Statuses in which the SLA clock does not run.
STOPPED = frozenset({Status.WAITING}) | FINISHED


@dataclass(frozen=True)
class StatusChange:
    at: dt.datetime
    new: Status


@dataclass(frozen=True)
class Dues:
    first_response: dt.datetime | None
    resolution: dt.datetime | None


def pauses_from(changes: Iterable[StatusChange]) -> list[Pause]:
    """(stopped_at, resumed_at|None) for each stretch spent in a stopped status, in order.

    Changes come in the order they were recorded; a change stamped earlier than the one before
    it (a late mail keeps its own date) closes the pause at its start rather than before it.
    """
    pauses: list[Pause] = []
    since: dt.datetime | None = None
    for change in changes:
        if change.new in STOPPED and since is None:
            since = change.at
        elif change.new not in STOPPED and since is not None:
            pauses.append((since, max(since, change.at)))
            since = None
    if since is not None:
        pauses.append((since, None))
    return pauses


def frozen_at(pauses: Sequence[Pause], stop: dt.datetime) -> list[Pause]:
    """The pauses as seen at `stop`: later ones dropped, an open one closed at `stop`."""
    return [(a, stop if b is None or b > stop else b) for a, b in pauses if a < stop]


def deadline(policy: SlaPolicy, minutes: int, start: dt.datetime, pauses: Sequence[Pause],
             done_at: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
    """The due time of one target; None while the clock is stopped short of it."""
    if done_at is not None:
        return deadline_with_pauses(policy.calendar, start, minutes,
                                    frozen_at(pauses, done_at), done_at)
    return deadline_with_pauses(policy.calendar, start, minutes, pauses, max(now, start))


def compute_dues(policy: SlaPolicy, created_at: dt.datetime,
                 first_response_at: dt.datetime | None, resolved_at: dt.datetime | None,
                 pauses: Sequence[Pause], now: dt.datetime) -> Dues:
    # Resolving without a public answer ends the first-response clock too.
    answered = first_response_at or resolved_at
    return Dues(
        first_response=deadline(policy, policy.first_response_minutes, created_at, pauses,
                                answered, now),
        resolution=deadline(policy, policy.resolution_minutes, created_at, pauses,
                            resolved_at, now),
    )


def next_response_due(policy: SlaPolicy, client_wrote_at: dt.datetime,
                      pauses: Sequence[Pause], now: dt.datetime) -> dt.datetime | None:
    """The optional next-response target: the clock starts at the client's unanswered message."""
    if policy.next_response_minutes is None:
        return None
    return deadline(policy, policy.next_response_minutes, client_wrote_at, pauses, None, now)
