"""The engine through its handlers, on in-memory fakes of its ports."""

from __future__ import annotations

import datetime as dt
from itertools import product

import pytest

from bot.i18n import explain
from engine import commands as c
from engine import errors
from engine.bus import MessageBus
from engine.model import TRANSITIONS, Company, Person, Role, Status
from engine.notify.reactor import notify
from engine.settings import EngineSettings
from tests.fakes import FakeUnitOfWork, FixedClock, Store

LEAD, SPEC, OTHER_SPEC, CLIENT, COLLEAGUE, STRANGER = 1, 2, 3, 4, 5, 6
ACME = 10


def people() -> dict[int, Person]:
    return {p.id: p for p in (
        Person(LEAD, "Lena Lead", Role.LEAD, ("lead@desk.test",), telegram_id=101),
        Person(SPEC, "Sam Spec", Role.SPECIALIST, ("sam@desk.test",), telegram_id=102),
        Person(OTHER_SPEC, "Olga Spec", Role.SPECIALIST, ("olga@desk.test",), language="ru"),
        Person(CLIENT, "Carl Client", Role.CLIENT, ("carl@acme.test",), company_id=ACME),
        Person(COLLEAGUE, "Cora Colleague", Role.CLIENT, ("cora@acme.test",), company_id=ACME),
        Person(STRANGER, "Stan Stranger", Role.CLIENT, ("stan@else.test",)),
    )}


@pytest.fixture
def store() -> Store:
    return Store(people=people(), companies={ACME: Company(ACME, "Acme")})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def bus(store: Store, clock: FixedClock) -> MessageBus:
    return MessageBus(lambda: FakeUnitOfWork(store), clock, EngineSettings(), [notify])


async def open_one(bus: MessageBus, actor: int = CLIENT, **kw: object) -> int:
    cmd = c.OpenTicket(actor=actor, channel="email", subject="Printer", description="It jams",
                       **kw)  # type: ignore[arg-type]
    number = (await bus.handle(cmd)).ticket
    assert number is not None
    return number


async def test_numbers_are_sequential_and_never_reused(bus: MessageBus, store: Store) -> None:
    assert [await open_one(bus) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(errors.InvalidValue):
        await open_one(bus, priority="extreme")
    assert await open_one(bus) == 4
    assert sorted(store.tickets) == [1, 2, 3, 4]


async def test_open_records_requester_company_comment_and_event(bus: MessageBus,
                                                                  store: Store) -> None:
    number = await open_one(bus, source_ref="<m1@acme.test>")
    ticket = store.tickets[number]
    assert (ticket.requester_id, ticket.company_id, ticket.status) == (CLIENT, ACME, Status.OPEN)
    assert [e.kind for e in store.events] == ["opened"]
    assert store.comments[0].body == "It jams" and store.comments[0].public
    assert store.refs == {"<m1@acme.test>": number}


async def test_company_manager_becomes_responsible(bus: MessageBus, store: Store) -> None:
    store.companies[ACME] = Company(ACME, "Acme", manager_id=OTHER_SPEC)
    number = await open_one(bus)
    assert store.tickets[number].responsible_id == OTHER_SPEC


async def test_refusal_changes_nothing(bus: MessageBus, store: Store) -> None:
    number = await open_one(bus)
    before = (dict(store.tickets), list(store.events), dict(store.outbox))
    with pytest.raises(errors.NotAllowed):
        await bus.handle(c.Take(actor=CLIENT, channel="email", ticket=number))
    with pytest.raises(errors.TicketNotFound) as missing:
        await bus.handle(c.Take(actor=SPEC, channel="telegram", ticket=999))
    assert missing.value.number == 999
    assert (dict(store.tickets), list(store.events), dict(store.outbox)) == before


async def test_take_moves_open_to_in_progress(bus: MessageBus, store: Store) -> None:
    number = await open_one(bus)
    outcome = await bus.handle(c.Take(actor=SPEC, channel="telegram", ticket=number))
    assert [e.kind for e in outcome.events] == ["responsible", "status"]
    assert store.tickets[number].responsible_id == SPEC
    assert store.tickets[number].status is Status.IN_PROGRESS


async def test_specialist_cannot_take_a_colleagues_ticket(bus: MessageBus) -> None:
    """They may read it (the desk's tickets are no secret among staff); the refusal says
    whose it is, never "not found"."""
    number = await open_one(bus)
    await bus.handle(c.Take(actor=SPEC, channel="telegram", ticket=number))
    with pytest.raises(errors.NotAllowed) as refused:
        await bus.handle(c.Take(actor=OTHER_SPEC, channel="telegram", ticket=number))
    assert (refused.value.number, refused.value.responsible) == (number, "Sam Spec")
    assert explain("en", refused.value) == "#1 is Sam Spec's; ask the lead or Sam Spec."
    with pytest.raises(errors.NotAllowed):
        await bus.handle(c.SetStatus(actor=OTHER_SPEC, channel="telegram", ticket=number,
                                     status=Status.RESOLVED))
    await bus.handle(c.AddComment(actor=OTHER_SPEC, channel="telegram", ticket=number,
                                  body="I saw this before", public=False))


def _status_path(target: Status) -> list[Status]:
    """Statuses to walk through from `open` to reach `target` along allowed moves."""
    return {
        Status.OPEN: [], Status.IN_PROGRESS: [Status.IN_PROGRESS],
        Status.WAITING: [Status.WAITING], Status.RESOLVED: [Status.RESOLVED],
        Status.CLOSED: [Status.RESOLVED, Status.CLOSED],
    }[target]


@pytest.mark.parametrize(("old", "new"), list(product(Status, Status)))
async def test_transition_table(bus: MessageBus, store: Store, clock: FixedClock,
                                old: Status, new: Status) -> None:
    number = await open_one(bus)
    until = clock.now() + dt.timedelta(days=1)
    for step in _status_path(old):
        await bus.handle(c.SetStatus(actor=LEAD, channel="cli", ticket=number, status=step,
                                     until=until))
    move = c.SetStatus(actor=LEAD, channel="cli", ticket=number, status=new, until=until)
    if new in TRANSITIONS[old]:
        await bus.handle(move)
        assert store.tickets[number].status is new
    else:
        with pytest.raises(errors.InvalidTransition) as refused:
            await bus.handle(move)
        assert refused.value.allowed == tuple(sorted(s.value for s in TRANSITIONS[old]))
        assert store.tickets[number].status is old


async def test_waiting_needs_a_future_until(bus: MessageBus, clock: FixedClock) -> None:
    number = await open_one(bus)
    for until in (None, clock.now() - dt.timedelta(minutes=1)):
        with pytest.raises(errors.InvalidValue) as bad:
            await bus.handle(c.SetStatus(actor=LEAD, channel="cli", ticket=number,
                                         status=Status.WAITING, until=until))
        assert bad.value.field == "until"


async def test_waiting_returns_to_open_when_due(bus: MessageBus, store: Store,
                                                clock: FixedClock) -> None:
    number = await open_one(bus)
    until = clock.now() + dt.timedelta(hours=2)
    await bus.handle(c.SetStatus(actor=LEAD, channel="cli", ticket=number,
                                 status=Status.WAITING, until=until))
    await bus.handle(c.ReturnDueWaiting(actor=None, channel="system"))
    assert store.tickets[number].status is Status.WAITING
    clock.advance(hours=2)
    await bus.handle(c.ReturnDueWaiting(actor=None, channel="system"))
    assert store.tickets[number].status is Status.OPEN
    assert store.tickets[number].waiting_until is None


async def test_client_reply_reopens_waiting_and_resolved(bus: MessageBus, store: Store,
                                                         clock: FixedClock) -> None:
    number = await open_one(bus)
    await bus.handle(c.SetStatus(actor=LEAD, channel="cli", ticket=number,
                                 status=Status.RESOLVED))
    await bus.handle(c.AddComment(actor=CLIENT, channel="email", ticket=number,
                                  body="Still broken", public=True))
    assert store.tickets[number].status is Status.OPEN


async def test_client_cannot_comment_on_closed_ticket(bus: MessageBus) -> None:
    number = await open_one(bus)
    await bus.handle(c.Close(actor=LEAD, channel="cli", ticket=number, text="Done"))
    with pytest.raises(errors.TicketClosed):
        await bus.handle(c.AddComment(actor=CLIENT, channel="email", ticket=number,
                                      body="thanks", public=True))


async def test_close_walks_resolved_then_closed(bus: MessageBus, store: Store) -> None:
    number = await open_one(bus)
    outcome = await bus.handle(c.Close(actor=LEAD, channel="cli", ticket=number, text="Fixed"))
    statuses = [(e.old, e.new) for e in outcome.events if e.kind == "status"]  # type: ignore[attr-defined]
    assert statuses == [("open", "resolved"), ("resolved", "closed")]
    assert store.tickets[number].closed_at is not None


async def test_first_response_is_first_public_staff_comment(bus: MessageBus, store: Store,
                                                            clock: FixedClock) -> None:
    number = await open_one(bus)
    await bus.handle(c.AddComment(actor=LEAD, channel="cli", ticket=number, body="internal",
                                  public=False))
    assert store.tickets[number].first_response_at is None
    clock.advance(minutes=5)
    await bus.handle(c.AddComment(actor=LEAD, channel="cli", ticket=number, body="On it",
                                  public=True))
    assert store.tickets[number].first_response_at == clock.now()


async def test_internal_note_by_client_is_refused(bus: MessageBus) -> None:
    number = await open_one(bus)
    with pytest.raises(errors.NotAllowed):
        await bus.handle(c.AddComment(actor=CLIENT, channel="email", ticket=number,
                                      body="x", public=False))


async def test_assign_only_to_staff(bus: MessageBus, store: Store) -> None:
    number = await open_one(bus)
    with pytest.raises(errors.InvalidValue):
        await bus.handle(c.Assign(actor=LEAD, channel="cli", ticket=number, person_id=CLIENT))
    await bus.handle(c.Assign(actor=LEAD, channel="cli", ticket=number, person_id=SPEC))
    assert store.tickets[number].responsible_id == SPEC


# F3 visibility: who can see a ticket requested by CLIENT (company ACME), owned by SPEC.
VISIBILITY = {
    LEAD: True, SPEC: True, OTHER_SPEC: True, CLIENT: True, COLLEAGUE: True, STRANGER: False,
}


@pytest.mark.parametrize(("viewer", "visible"), VISIBILITY.items())
async def test_visibility_matrix(bus: MessageBus, viewer: int, visible: bool) -> None:
    number = await open_one(bus)
    await bus.handle(c.Assign(actor=LEAD, channel="cli", ticket=number, person_id=SPEC))
    comment = c.AddComment(actor=viewer, channel="cli", ticket=number, body="hi", public=True)
    if visible:
        assert (await bus.handle(comment)).ticket == number
    else:
        with pytest.raises(errors.TicketNotFound):
            await bus.handle(comment)


async def test_observer_sees_and_unassigned_queue_is_visible(bus: MessageBus) -> None:
    number = await open_one(bus)
    await bus.handle(c.AddComment(actor=OTHER_SPEC, channel="cli", ticket=number, body="queue",
                                  public=False))
    await bus.handle(c.Assign(actor=LEAD, channel="cli", ticket=number, person_id=SPEC))
    await bus.handle(c.AddObserver(actor=SPEC, channel="cli", ticket=number,
                                   person_id=OTHER_SPEC))
    await bus.handle(c.AddComment(actor=OTHER_SPEC, channel="cli", ticket=number, body="seen",
                                  public=False))
    with pytest.raises(errors.NotAllowed):
        await bus.handle(c.SetStatus(actor=OTHER_SPEC, channel="cli", ticket=number,
                                     status=Status.RESOLVED))


async def test_notifications_skip_the_actor_and_never_repeat(bus: MessageBus,
                                                             store: Store) -> None:
    number = await open_one(bus, cc=("boss@acme.test",))
    kinds = sorted((i.kind, i.recipient) for i in store.outbox.values())
    assert kinds == [("ack", "carl@acme.test"), ("created", "101"),
                     ("created_cc", "boss@acme.test")]
    store.outbox.clear()
    await bus.handle(c.Take(actor=SPEC, channel="telegram", ticket=number))
    recipients = {(i.kind, i.recipient) for i in store.outbox.values()}
    # The client is not told someone took it: their next mail is the answer.
    assert ("status", "carl@acme.test") not in recipients
    assert all(i.person_id != SPEC for i in store.outbox.values())
    await bus.handle(c.SetStatus(actor=SPEC, channel="telegram", ticket=number,
                                 status=Status.WAITING,
                                 until=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)))
    assert ("status", "carl@acme.test") in {(i.kind, i.recipient)
                                            for i in store.outbox.values()}
    assert len(store.outbox) == len({i.key for i in store.outbox.values()})


async def test_internal_note_never_reaches_the_client(bus: MessageBus, store: Store) -> None:
    number = await open_one(bus)
    await bus.handle(c.Assign(actor=LEAD, channel="cli", ticket=number, person_id=SPEC))
    store.outbox.clear()
    await bus.handle(c.AddComment(actor=LEAD, channel="cli", ticket=number, body="secret",
                                  public=False))
    assert [i.recipient for i in store.outbox.values()] == ["102"]


async def test_creator_is_given_by_staff_only(bus: MessageBus, store: Store) -> None:
    number = await open_one(bus, actor=SPEC, requester_id=CLIENT, creator_id=LEAD)
    assert store.tickets[number].creator_id == LEAD
    with pytest.raises(errors.NotAllowed):
        await open_one(bus, actor=CLIENT, creator_id=LEAD)


async def test_author_edits_the_description_and_nobody_else(bus: MessageBus,
                                                             store: Store) -> None:
    number = await open_one(bus, source_ref="tg:-100:7")
    edit = c.EditComment(actor=CLIENT, channel="telegram", ticket=number, source_ref="tg:-100:7",
                         body="It jams on page 3")
    await bus.handle(edit)
    assert store.tickets[number].description == "It jams on page 3"
    assert store.comments[0].body == "It jams on page 3"
    with pytest.raises(errors.NotAllowed):
        await bus.handle(c.EditComment(actor=LEAD, channel="telegram", ticket=number,
                                       source_ref="tg:-100:7", body="x"))
    with pytest.raises(errors.InvalidValue):
        await bus.handle(c.EditComment(actor=CLIENT, channel="telegram", ticket=number,
                                       source_ref="tg:-100:8", body="x"))


def test_every_event_kind_is_registered_once() -> None:
    from engine import events as ev

    classes = [c for c in vars(ev).values()
               if isinstance(c, type) and issubclass(c, ev.Event) and c is not ev.Event]
    assert sorted(ev.EVENT_TYPES) == sorted(c.kind for c in classes)
    assert all(ev.EVENT_TYPES[c.kind] is c for c in classes)


async def test_one_action_is_one_row_per_person_and_channel(bus: MessageBus,
                                                            store: Store) -> None:
    """/close with an answer: the client's row is the answer, with "closed" under it (not
    an answer, "resolved" and "closed"); it waits the answer's grace period, tied to it."""
    number = await open_one(bus)
    await bus.handle(c.Take(actor=SPEC, channel="telegram", ticket=number))
    store.outbox.clear()
    await bus.handle(c.Close(actor=SPEC, channel="telegram", ticket=number, text="Fixed"))
    [row] = [i for i in store.outbox.values() if i.recipient == "carl@acme.test"]
    assert row.kind == "comment"
    assert [(x["kind"], x["new"]) for x in row.payload["also"]] == [("status", "closed")]
    assert row.cause is not None and row.not_before is not None
    assert len([i for i in store.outbox.values() if i.person_id == CLIENT]) == 1
