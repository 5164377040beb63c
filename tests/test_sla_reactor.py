"""Deadlines kept on the ticket by the SLA reactor, through real engine commands on the fakes,
and the `/status` lines that show them."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.i18n import t
from engine import commands as c
from engine.bus import MessageBus
from engine.model import Person, Role, Status
from engine.notify.reactor import notify
from engine.settings import EngineSettings
from engine.sla.calendar import build_calendar
from engine.sla.policy import SlaPolicies, SlaPolicy, SlaRule
from engine.sla.reactor import sla_reactor
from engine.sla.status import State, sla_lines, target_states
from tests.fakes import FakeUnitOfWork, FixedClock, Store
from tests.support_sla import (
    CLIENT,
    LEAD,
    SPEC,
    fake_bus,
    fake_store,
    msk,
    open_ticket,
    policies,
    policy,
)

FAST = policy("fast", first=30, resolution=120)
REGISTRY = policies(FAST, rules=[SlaRule("fast", priorities=frozenset({"high"}))])


@pytest.fixture
def store() -> Store:
    return fake_store()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(msk(2026, 11, 20, 10))  # Friday 10:00 MSK


@pytest.fixture
def bus(store: Store, clock: FixedClock) -> MessageBus:
    return fake_bus(store, clock, REGISTRY)


async def wait(bus: MessageBus, number: int, until: dt.datetime) -> None:
    await bus.handle(c.SetStatus(actor=LEAD, channel="cli", ticket=number,
                                 status=Status.WAITING, until=until))


async def test_opening_stores_policy_and_due_times(bus: MessageBus, store: Store) -> None:
    number = await open_ticket(bus)
    ticket = store.tickets[number]
    assert ticket.sla_policy == "std"
    assert (ticket.first_response_due, ticket.resolution_due) == (msk(2026, 11, 20, 11),
                                                                  msk(2026, 11, 23, 10))


async def test_priority_change_chooses_another_policy(bus: MessageBus, store: Store,
                                                      clock: FixedClock) -> None:
    number = await open_ticket(bus)
    clock.advance(minutes=10)
    await bus.handle(c.SetPriority(actor=LEAD, channel="cli", ticket=number, priority="high"))
    ticket = store.tickets[number]
    assert ticket.sla_policy == "fast"
    # Counted from creation, not from the change.
    assert (ticket.first_response_due, ticket.resolution_due) == (msk(2026, 11, 20, 10, 30),
                                                                  msk(2026, 11, 20, 12))


async def test_waiting_pauses_across_the_weekend_and_the_return_resumes(
        bus: MessageBus, store: Store, clock: FixedClock) -> None:
    number = await open_ticket(bus)
    await bus.handle(c.AddComment(actor=SPEC, channel="telegram", ticket=number,
                                  body="Which model?", public=True))
    clock.current = msk(2026, 11, 20, 15)
    await wait(bus, number, msk(2026, 11, 23, 12))
    assert store.tickets[number].resolution_due is None  # the clock is stopped
    clock.current = msk(2026, 11, 23, 12)
    await bus.handle(c.ReturnDueWaiting(actor=None, channel="system"))
    ticket = store.tickets[number]
    assert ticket.status is Status.OPEN
    # 5 h ran on Friday, 4 h remain from Monday 12:00.
    assert ticket.resolution_due == msk(2026, 11, 23, 16)
    assert ticket.first_response_due == msk(2026, 11, 20, 11)  # met on Friday, stays put


async def test_client_reply_resumes_the_clock(bus: MessageBus, store: Store,
                                              clock: FixedClock) -> None:
    number = await open_ticket(bus)
    clock.current = msk(2026, 11, 20, 11)
    await wait(bus, number, msk(2026, 11, 27, 12))
    clock.current = msk(2026, 11, 20, 14)
    await bus.handle(c.AddComment(actor=CLIENT, channel="email", ticket=number,
                                  body="It is a P-100", public=True))
    ticket = store.tickets[number]
    assert ticket.status is Status.OPEN
    # 1 h ran before the pause; first response 60 min -> it was due exactly at the pause.
    assert ticket.first_response_due == msk(2026, 11, 20, 11)
    assert ticket.resolution_due == msk(2026, 11, 23, 13)


async def test_resolve_freezes_and_reopen_is_not_charged_for_resolved_time(
        bus: MessageBus, store: Store, clock: FixedClock) -> None:
    number = await open_ticket(bus)
    clock.current = msk(2026, 11, 20, 12)
    await bus.handle(c.SetStatus(actor=LEAD, channel="cli", ticket=number,
                                 status=Status.RESOLVED, text="Replaced the drum"))
    assert store.tickets[number].resolution_due == msk(2026, 11, 23, 10)
    clock.current = msk(2026, 11, 23, 9)
    await bus.handle(c.AddComment(actor=CLIENT, channel="email", ticket=number,
                                  body="Jams again", public=True))
    # 2 h ran before the resolution; 7 h remain from Monday 09:00.
    assert store.tickets[number].resolution_due == msk(2026, 11, 23, 16)


def status_of(store: Store, number: int, now: dt.datetime, lang: str) -> list[str]:
    return sla_lines(store.tickets[number], policy(), now, lang, t=t)


async def test_status_lines_show_time_left_and_overdue_in_business_time(
        bus: MessageBus, store: Store) -> None:
    number = await open_ticket(bus)
    # Friday 17:30: first response overdue by 6 h 30 min, resolution has 1 h 30 min left.
    lines = status_of(store, number, msk(2026, 11, 20, 17, 30), "en")
    assert lines == [
        "SLA (std):",
        "First response: due 2026-11-20 11:00 MSK, overdue by 6 h 30 min of business time",
        "Resolution: due 2026-11-23 10:00 MSK, 1 h 30 min of business time left",
    ]
    ru = status_of(store, number, msk(2026, 11, 20, 17, 30), "ru")
    assert ru[2] == "Решение: срок 2026-11-23 10:00 MSK, осталось 1 ч 30 мин рабочего времени"


async def test_status_lines_paused_met_and_missed(bus: MessageBus, store: Store,
                                                  clock: FixedClock) -> None:
    number = await open_ticket(bus)
    clock.current = msk(2026, 11, 20, 10, 40)
    await bus.handle(c.AddComment(actor=SPEC, channel="telegram", ticket=number,
                                  body="Looking", public=True))
    await wait(bus, number, msk(2026, 11, 25, 10))
    states = target_states(store.tickets[number], policy(), msk(2026, 11, 24, 10))
    assert [(s.state, s.minutes) for s in states] == [(State.MET, 0.0), (State.PAUSED, 0.0)]
    assert status_of(store, number, msk(2026, 11, 24, 10), "en")[1:] == [
        "First response: met (due 2026-11-20 11:00 MSK)",
        "Resolution: clock paused while waiting for the client",
    ]
    late = store.tickets[number]
    late.first_response_at = msk(2026, 11, 20, 11, 45)
    assert sla_lines(late, policy(), msk(2026, 11, 24, 10), "ru", t=t)[1] == (
        "Первый ответ: просрочено на 45 мин рабочего времени (срок 2026-11-20 11:00 MSK)")


async def test_non_deadline_events_leave_due_times_alone(bus: MessageBus, store: Store,
                                                         clock: FixedClock) -> None:
    number = await open_ticket(bus)
    before = store.tickets[number]
    clock.advance(hours=1)
    await bus.handle(c.AddTag(actor=LEAD, channel="cli", ticket=number, tag="printer"))
    after = store.tickets[number]
    assert (after.first_response_due, after.resolution_due) == (before.first_response_due,
                                                                before.resolution_due)


async def test_a_resolved_ticket_shows_both_targets_settled(bus: MessageBus, store: Store,
                                                           clock: FixedClock) -> None:
    number = await open_ticket(bus)
    clock.current = msk(2026, 11, 20, 12)
    await bus.handle(c.SetStatus(actor=LEAD, channel="cli", ticket=number,
                                 status=Status.RESOLVED))
    states = target_states(store.tickets[number], policy(), msk(2026, 11, 30, 12))
    assert [(s.target.value, s.state, s.minutes) for s in states] == [
        ("first_response", State.MISSED, 60.0), ("resolution", State.MET, 0.0)]


async def test_next_response_clock_runs_after_each_unanswered_client_message() -> None:
    """Seed 001/issue 6: an optional next-response target after each client message; the
    first one is the first-response target's, and a staff answer stops the clock."""

    calendar = build_calendar("24x7", "UTC", {d: ["00:00-24:00"] for d in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                              country=None)
    policy = SlaPolicy("std", calendar, first_response_minutes=60, resolution_minutes=600,
                       next_response_minutes=30)
    store = Store(people={1: Person(1, "Lead", Role.LEAD), 2: Person(2, "Client", Role.CLIENT)})
    clock = FixedClock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC))
    bus = MessageBus(lambda: FakeUnitOfWork(store), clock, EngineSettings(),
                     [notify, sla_reactor(SlaPolicies((policy,), (), "std"))])
    await bus.handle(c.OpenTicket(actor=2, channel="email", subject="s", description="d"))
    assert store.tickets[1].next_response_due is None  # the first-response clock runs
    clock.advance(minutes=10)
    await bus.handle(c.AddComment(actor=1, channel="email", ticket=1, body="hi", public=True))
    assert store.tickets[1].next_response_due is None
    clock.advance(minutes=5)
    await bus.handle(c.AddComment(actor=2, channel="email", ticket=1, body="?", public=True))
    assert store.tickets[1].next_response_due == clock.now() + dt.timedelta(minutes=30)
    clock.advance(minutes=5)
    await bus.handle(c.AddComment(actor=2, channel="email", ticket=1, body="??", public=True))
    assert store.tickets[1].next_response_due == clock.now() + dt.timedelta(minutes=25)
    await bus.handle(c.AddComment(actor=1, channel="email", ticket=1, body="ok", public=True))
    assert store.tickets[1].next_response_due is None
