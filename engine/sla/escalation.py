"""F8: the escalation ladder as pure decisions. The scan (`engine/store/sla_scan.py`) finds due
targets and records each alert once; this module says which rung a target is on, who hears of
it, on which channel, and from when.

Ladder: a pre-breach warning in the staff chat mentioning the responsible (or to the
responsible directly when there is no staff chat), then at the breach an alert to the
responsible and the lead. A target seen only after its breach skips the warning. Every
delivery is held until its recipient's next working minute (`not_before`), so nobody is
paged at night; the staff chat follows the responsible's hours, as the message is for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.model import Person, Ticket
from engine.notify.kinds import NoticeKind
from engine.notify.reactor import route
from engine.notify.rules import Notice
from engine.ports import OutboxItem
from engine.sla.calendar import (
    BusinessCalendar,
    add_business_minutes,
    business_minutes_between,
    is_working,
    next_working_moment,
)
from engine.sla.policy import SlaPolicy, Target
from engine.sla.status import Translate, duration, local_time


class Rung(StrEnum):
    WARN = "warn"
    BREACH = "breach"


# Outbox kinds; channels render them as `notify.<kind>.subject` / `.body` like other notices.
KINDS = {Rung.WARN: NoticeKind.SLA_WARNING, Rung.BREACH: NoticeKind.SLA_BREACH}


def rung(policy: SlaPolicy, target: Target, due: dt.datetime, now: dt.datetime) -> Rung | None:
    """The rung a target stands on at `now`, None while it is far from due."""
    if due <= now:
        return Rung.BREACH
    left = business_minutes_between(policy.calendar, now, due)
    return Rung.WARN if left <= policy.warn_left(target) else None


def warn_cutoff(policy: SlaPolicy, target: Target, now: dt.datetime) -> dt.datetime:
    """Every due time up to this instant is inside the warning window at `now`.

    Due times are themselves results of `add_business_minutes`, so comparing them with another
    such result is exact, and the scan can select candidates on the indexed due column."""
    return add_business_minutes(policy.calendar, now, policy.warn_left(target))


def scan_cutoff(policies: Iterable[SlaPolicy], target: Target, now: dt.datetime) -> dt.datetime:
    return max(warn_cutoff(p, target, now) for p in policies)


@dataclass(frozen=True)
class StaffHours:
    """Whose working hours hold a delivery: a person's own calendar, else the team's."""

    default: BusinessCalendar
    by_person: Mapping[int, BusinessCalendar] = field(default_factory=dict)

    def of(self, person: Person | None) -> BusinessCalendar:
        return self.default if person is None else self.by_person.get(person.id, self.default)

    def held_until(self, person: Person | None, now: dt.datetime) -> dt.datetime | None:
        """None when the person is working now, else their next working minute."""
        cal = self.of(person)
        return None if is_working(cal, now) else next_working_moment(cal, now)


@dataclass(frozen=True)
class Ladder:
    """What the scan needs besides the policies: where warnings go and whose hours count."""

    hours: StaffHours
    staff_chat: str | None = None
    staff_language: str = "en"
    # Each desk's own staff chat (engine/desks.py), by desk name: its tickets' warnings.
    desk_chats: Mapping[str, str] = field(default_factory=dict)

    def chat_of(self, ticket: Ticket) -> str | None:
        return self.desk_chats.get(ticket.desk or "", self.staff_chat)


@dataclass(frozen=True)
class AlertTarget:
    channel: str
    recipient: str
    person: Person | None
    language: str
    not_before: dt.datetime | None


def _to_person(step: Rung, person: Person, ticket: Ticket, now: dt.datetime,
               hours: StaffHours) -> list[AlertTarget]:
    held = hours.held_until(person, now)
    return [AlertTarget(channel, recipient, person, person.language, held)
            for channel, recipient in route(Notice(KINDS[step], person=person), ticket)]


def deliveries(step: Rung, ticket: Ticket, responsible: Person | None,
               leads: Sequence[Person], ladder: Ladder, now: dt.datetime) -> list[AlertTarget]:
    """Who hears of one alert, once each."""
    chat = ladder.chat_of(ticket)
    if step is Rung.WARN and chat is not None:
        held = ladder.hours.held_until(responsible, now)
        return [AlertTarget("telegram", chat, None, ladder.staff_language, held)]
    people = [responsible] if responsible is not None else []
    if step is Rung.BREACH or not people:
        people += [p for p in leads if responsible is None or p.id != responsible.id]
    return [d for p in people for d in _to_person(step, p, ticket, now, ladder.hours)]


@dataclass(frozen=True)
class AlertFacts:
    ticket: Ticket
    policy: SlaPolicy
    target: Target
    step: Rung
    due: dt.datetime
    responsible: Person | None


def payload(facts: AlertFacts, lang: str, now: dt.datetime, t: Translate) -> dict[str, Any]:
    """Raw values for any renderer, the `notify.sla_*` placeholders already in `lang`, and
    the finished `title` and `text` for a renderer that only posts text."""
    values = _values(facts, lang, now, t)
    kind = KINDS[facts.step]
    return {**values, "title": t(lang, f"notify.{kind}.subject", **values),
            "text": t(lang, f"notify.{kind}.body", **values)}


def _values(facts: AlertFacts, lang: str, now: dt.datetime, t: Translate) -> dict[str, Any]:
    cal, ticket, who = facts.policy.calendar, facts.ticket, facts.responsible
    minutes = abs(business_minutes_between(cal, *sorted((now, facts.due))))
    return {
        "number": ticket.number, "subject": ticket.subject, "rung": facts.step.value,
        "target_key": facts.target.value, "due_at": facts.due.isoformat(),
        "business_minutes": round(minutes), "policy": facts.policy.name,
        "responsible_id": None if who is None else who.id,
        "responsible_telegram_id": None if who is None else who.telegram_id,
        "target": t(lang, f"sla.target.{facts.target.value}"),
        "due": local_time(facts.due, facts.policy), "time": duration(lang, minutes, t),
        "responsible": t(lang, "sla.nobody") if who is None else who.name,
    }


def outbox_items(alert_id: int, facts: AlertFacts, sent: Sequence[AlertTarget], now: dt.datetime,
                 t: Translate) -> list[OutboxItem]:
    """Outbox rows keyed by the alert: a recorded alert can never be enqueued twice."""
    return [OutboxItem(
        key=f"sla:{alert_id}:{d.channel}:{d.recipient}", channel=d.channel,
        recipient=d.recipient, kind=KINDS[facts.step], ticket=facts.ticket.number,
        person_id=None if d.person is None else d.person.id, language=d.language,
        payload=payload(facts, d.language, now, t), not_before=d.not_before,
    ) for d in sent]
