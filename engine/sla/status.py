"""F8: where a ticket stands against each SLA target, for `/status N` and `ticket show N`.

Pure: reads the due times stored on the ticket and counts business minutes on the policy's
calendar. Texts come from the i18n catalog through `t` (the engine imports no bot module,
so the caller passes `bot.i18n.t`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from engine.model import Ticket
from engine.sla.calendar import business_minutes_between
from engine.sla.deadlines import STOPPED
from engine.sla.policy import SlaPolicy, Target


class Translate(Protocol):
    def __call__(self, lang: str, key: str, **params: object) -> str: ...


class State(StrEnum):
    LEFT = "left"
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"


@dataclass(frozen=True)
class TargetState:
    target: Target
    state: State
    due: dt.datetime | None
    minutes: float  # business minutes left, overdue, or missed by; 0 when paused or met


def _done_at(ticket: Ticket, target: Target) -> dt.datetime | None:
    if target is Target.FIRST_RESPONSE:  # a resolution answers too (as in deadlines.py)
        return ticket.first_response_at or ticket.resolved_at
    if target is Target.NEXT_RESPONSE:  # set only while a client message waits for an answer
        return None
    return ticket.resolved_at


def _due(ticket: Ticket, target: Target) -> dt.datetime | None:
    if target is Target.FIRST_RESPONSE:
        return ticket.first_response_due
    if target is Target.NEXT_RESPONSE:
        return ticket.next_response_due
    return ticket.resolution_due


def target_state(ticket: Ticket, policy: SlaPolicy, target: Target,
                 now: dt.datetime) -> TargetState | None:
    """None when there is nothing to say (no due time and the clock is not stopped)."""
    due, done, cal = _due(ticket, target), _done_at(ticket, target), policy.calendar
    if due is None:
        if target is Target.NEXT_RESPONSE:
            return None  # nothing waits for an answer
        stopped = done is None and ticket.status in STOPPED
        return TargetState(target, State.PAUSED, None, 0.0) if stopped else None
    if done is not None:
        late = business_minutes_between(cal, due, done)
        return TargetState(target, State.MISSED if done > due else State.MET, due, late)
    if now < due:
        return TargetState(target, State.LEFT, due, business_minutes_between(cal, now, due))
    return TargetState(target, State.OVERDUE, due, business_minutes_between(cal, due, now))


def target_states(ticket: Ticket, policy: SlaPolicy, now: dt.datetime) -> list[TargetState]:
    found = (target_state(ticket, policy, target, now) for target in Target)
    return [s for s in found if s is not None]


def duration(lang: str, minutes: float, t: Translate) -> str:
    """Business minutes as "2 h 05 min" / "2 ч 05 мин"; under an hour, minutes only."""
    whole = int(minutes)
    hours, rest = divmod(whole, 60)
    if hours == 0:
        return t(lang, "sla.minutes", minutes=rest)
    return t(lang, "sla.hours", hours=hours, minutes=f"{rest:02d}")


def local_time(at: dt.datetime, policy: SlaPolicy) -> str:
    return at.astimezone(policy.calendar.tz).strftime("%Y-%m-%d %H:%M %Z")


def sla_line(state: TargetState, policy: SlaPolicy, lang: str, t: Translate) -> str:
    due = "" if state.due is None else local_time(state.due, policy)
    return t(lang, f"sla.{state.state.value}", target=t(lang, f"sla.target.{state.target.value}"),
             due=due, time=duration(lang, state.minutes, t))


def sla_lines(ticket: Ticket, policy: SlaPolicy, now: dt.datetime, lang: str, *,
              t: Translate) -> list[str]:
    """One line per target: due, and time left or overdue by how much, in business time."""
    states = target_states(ticket, policy, now)
    if not states:
        return []
    header = t(lang, "sla.header", policy=policy.name)
    return [header, *(sla_line(s, policy, lang, t) for s in states)]
