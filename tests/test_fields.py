"""Issue 14, the parts below the channels: the fields commands' grammar, the `[tickets]`
types in the config, and the engine's role rules, history and notices on the fakes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from bot.commands.fields import parse_minutes
from bot.commands.registry import CommandError
from config.reader import ConfigError
from config.settings import from_mapping, load_settings
from engine import commands as c
from engine import errors
from engine.bus import MessageBus
from engine.model import Company, Status
from engine.notify.reactor import notify
from engine.settings import EngineSettings
from engine.store import tables
from engine.store.db import make_engine
from engine.store.migrate import schema_diff, upgrade
from engine.store.uow import sql_uow_factory
from engine.ticket_types import TicketType, missing
from tests.fakes import FakeUnitOfWork, FixedClock, Store
from tests.test_commands import ACTOR, IVAN, msk, run
from tests.test_config import EXAMPLE
from tests.test_engine import ACME, CLIENT, COLLEAGUE, LEAD, OTHER_SPEC, SPEC, open_one, people

TYPES = (TicketType("question"), TicketType("incident", required=("due", "tags", "company")),
         TicketType("design", internal=True))
ENGINE = EngineSettings(types=("question", "incident", "design"), type_specs=TYPES)

# --- grammar -------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "minutes"), [
    ("1h30m", 90), ("1h 30m", 90), ("1.5h", 90), ("1,5ч", 90), ("90m", 90), ("90", 90),
    ("2ч", 120), ("1ч30м", 90), ("45мин", 45), ("45min", 45), ("2hrs", 120), ("-15m", -15), ("+1h", 60)])
def test_durations_people_type(typed: str, minutes: int) -> None:
    assert parse_minutes(typed) == minutes


@pytest.mark.parametrize("typed", ["", "0", "an hour", "1x", "h", "999999h", "1h-30m"])
def test_what_is_no_duration(typed: str) -> None:
    assert parse_minutes(typed) is None


def test_the_fields_commands_build_their_engine_commands() -> None:
    assert run("/type 5 incident") == c.SetType(actor=ACTOR, channel="telegram", at=msk(5, 13, 10),
                                                ticket=5, type="incident")
    tags = run("/tag 5 +Printer -#net wifi")
    assert isinstance(tags, c.ChangeTags)
    assert (tags.add, tags.remove) == (("printer", "wifi"), ("net",))
    observe = run("/observe 5")
    assert isinstance(observe, c.AddObserver) and observe.person_id == ACTOR
    other = run("/unobserve @ivan", ticket=5)
    assert isinstance(other, c.RemoveObserver) and (other.ticket, other.person_id) == (5, IVAN)
    cc = run("/cc 5 <Boss@Acme.example> -old@acme.example")
    assert isinstance(cc, c.ChangeCc)
    assert (cc.add, cc.remove) == (("boss@acme.example",), ("old@acme.example",))
    due = run("/due 5 2026-06-01 15:00")
    assert isinstance(due, c.SetDue) and due.due == msk(6, 1, 15)
    cleared = run("/срок 5 -")
    assert isinstance(cleared, c.SetDue) and cleared.due is None
    spent = run("/spent 5 1h 30m")
    assert isinstance(spent, c.AddTimeSpent) and spent.minutes == 90
    new = run("/new type=design Rack\nTwo shelves")
    assert isinstance(new, c.OpenTicket)
    assert (new.type, new.subject, new.description) == ("design", "Rack", "Rack\nTwo shelves")
    plain = run("/new type of printer: laser")
    assert isinstance(plain, c.OpenTicket) and plain.type is None
    assert plain.subject == "type of printer: laser"


@pytest.mark.parametrize(("typed", "key"), [
    ("/type 5", "fields.missing_type"), ("/tag 5", "fields.missing_tags"),
    ("/tag 5 +", "fields.bad_tag"), ("/cc 5", "fields.missing_address"),
    ("/cc 5 boss", "fields.bad_address"), ("/due 5", "fields.missing_due"),
    ("/due 5 someday", "bad_date"), ("/due 5 2026-01-01", "date_in_past"),
    ("/spent 5", "fields.missing_spent"), ("/spent 5 lots", "fields.bad_spent"),
    ("/observe 5 @nobody_known", "unknown_person"), ("/observe 5 nobody", "unknown_person"),
    ("/new type=design", "missing_text"), ("/type incident", "missing_ticket")])
def test_bad_input_is_named(typed: str, key: str) -> None:
    built = run(typed)
    assert isinstance(built, CommandError) and built.key == key


# --- config --------------------------------------------------------------------------------


def test_the_example_declares_types_with_required_fields() -> None:
    engine = load_settings(EXAMPLE, {}).engine
    assert engine.types == ("question", "incident", "request", "internal")
    specs = {t.name: t for t in engine.type_specs}
    assert specs["incident"].required == ("equipment",)
    assert specs["request"].required == ("due",)
    assert specs["internal"].internal and not specs["question"].internal


def test_types_as_plain_names_still_load() -> None:
    engine = from_mapping({"tickets": {"types": ["a", "b"], "default_type": "b"}}, {}).engine
    assert (engine.types, engine.default_type) == (("a", "b"), "b")
    assert engine.type_specs == (TicketType("a"), TicketType("b"))


@pytest.mark.parametrize(("types", "message"), [
    ([{"name": "x", "required": ["colour"]}], r"tickets.types\[0\].required: 'colour' cannot"),
    ([{"name": "x", "internal": "yes"}], r"tickets.types\[0\].internal: expected true or false"),
    ([{"name": "x y"}], r"tickets.types\[0\].name: a type name is one word"),
    ([{"name": "x"}, {"name": "x"}], "the type 'x' is declared twice"),
    ([{"name": "x", "shape": 1}], r"tickets.types\[0\].shape: unknown key"),
    (["x", {"name": "y"}], "expected a list of names, or"),
    ([{"name": "x", "internal": True}], "tickets.default_type: 'x' is an internal type"),
])
def test_bad_types_name_the_key(types: list[object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_mapping({"tickets": {"types": types}}, {})


def test_an_sla_rule_may_name_a_declared_type() -> None:
    data = {"tickets": {"types": [{"name": "q"}, {"name": "inc", "required": ["due"]}]},
            "sla": {"policies": [{"name": "p", "first_response_minutes": 10,
                                  "resolution_minutes": 60}],
                    "rules": [{"policy": "p", "types": ["inc"]}]}}
    assert from_mapping(data, {}).sla.policies.rules[0].types == frozenset({"inc"})


# --- engine --------------------------------------------------------------------------------


@pytest.fixture
def store() -> Store:
    return Store(people=people(), companies={ACME: Company(ACME, "Acme")})


@pytest.fixture
def bus(store: Store) -> MessageBus:
    return MessageBus(lambda: FakeUnitOfWork(store), FixedClock(), ENGINE, [notify])


FIELD_COMMANDS = (
    lambda n, who: c.SetType(actor=who, channel="cli", ticket=n, type="incident"),
    lambda n, who: c.ChangeTags(actor=who, channel="cli", ticket=n, add=("x",)),
    lambda n, who: c.ChangeCc(actor=who, channel="cli", ticket=n, add=("a@b.example",)),
    lambda n, who: c.SetDue(actor=who, channel="cli", ticket=n,
                            due=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)),
    lambda n, who: c.AddObserver(actor=who, channel="cli", ticket=n, person_id=LEAD),
)


@pytest.mark.parametrize("build", FIELD_COMMANDS)
async def test_who_may_set_a_field(bus: MessageBus, store: Store, build: object) -> None:
    number = await open_one(bus)
    await bus.handle(c.Assign(actor=LEAD, channel="cli", ticket=number, person_id=SPEC))
    assert callable(build)
    for refused in (CLIENT, OTHER_SPEC):
        with pytest.raises(errors.NotAllowed) as caught:
            await bus.handle(build(number, refused))
        assert caught.value.action in ("type", "tags", "cc", "due", "observe")
    for allowed in (SPEC, LEAD):
        assert (await bus.handle(build(number, allowed))).ticket == number


async def test_time_and_own_observing_are_any_staff_members(bus: MessageBus,
                                                            store: Store) -> None:
    number = await open_one(bus)
    await bus.handle(c.Assign(actor=LEAD, channel="cli", ticket=number, person_id=SPEC))
    await bus.handle(c.AddTimeSpent(actor=OTHER_SPEC, channel="cli", ticket=number, minutes=30))
    await bus.handle(c.AddObserver(actor=OTHER_SPEC, channel="cli", ticket=number,
                                   person_id=OTHER_SPEC))
    for refused in (c.AddTimeSpent(actor=CLIENT, channel="cli", ticket=number, minutes=30),
                    c.AddObserver(actor=CLIENT, channel="cli", ticket=number, person_id=CLIENT),
                    c.RemoveObserver(actor=OTHER_SPEC, channel="cli", ticket=number,
                                     person_id=LEAD)):
        with pytest.raises(errors.NotAllowed):
            await bus.handle(refused)
    ticket = store.tickets[number]
    assert (ticket.time_spent_minutes, ticket.observers) == (30, {OTHER_SPEC})


async def test_notices_of_the_fields(bus: MessageBus, store: Store) -> None:
    """The observer added by someone else is told; an address put in copy is told; a
    change of type, tags, planned date or time spent tells nobody."""
    number = await open_one(bus)
    await bus.handle(c.Take(actor=SPEC, channel="cli", ticket=number))
    store.outbox.clear()
    await bus.handle(c.AddObserver(actor=SPEC, channel="cli", ticket=number,
                                   person_id=OTHER_SPEC))
    await bus.handle(c.ChangeCc(actor=SPEC, channel="cli", ticket=number,
                                add=("boss@acme.test",)))
    for quiet in (c.SetType(actor=SPEC, channel="cli", ticket=number, type="incident"),
                  c.ChangeTags(actor=SPEC, channel="cli", ticket=number, add=("a",)),
                  c.SetDue(actor=SPEC, channel="cli", ticket=number,
                           due=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)),
                  c.AddTimeSpent(actor=SPEC, channel="cli", ticket=number, minutes=5)):
        await bus.handle(quiet)
    assert sorted((i.kind, i.recipient) for i in store.outbox.values()) == [
        ("created_cc", "boss@acme.test"), ("observing", "olga@desk.test")]
    store.outbox.clear()
    await bus.handle(c.AddComment(actor=SPEC, channel="cli", ticket=number, body="n",
                                  public=False))
    assert [(i.kind, i.recipient) for i in store.outbox.values()] == [("note", "olga@desk.test")]
    # The rest of what seed 000 gives observers: status and responsible changes.
    store.outbox.clear()
    await bus.handle(c.SetStatus(actor=SPEC, channel="cli", ticket=number,
                                 status=Status.RESOLVED))
    await bus.handle(c.Assign(actor=LEAD, channel="cli", ticket=number, person_id=LEAD))
    assert {i.kind for i in store.outbox.values() if i.person_id == OTHER_SPEC} == \
        {"status", "responsible"}


async def test_an_internal_ticket_reaches_staff_only(bus: MessageBus, store: Store) -> None:
    number = await open_one(bus, actor=LEAD, type="design", cc=("x@acme.test",))
    ticket = store.tickets[number]
    assert ticket.internal and ticket.requester_id == LEAD
    # No acknowledgement, no "you are in copy".
    assert {i.kind for i in store.outbox.values()} <= {"created", "assigned"}
    with pytest.raises(errors.NotAllowed):
        await open_one(bus, actor=CLIENT, type="design")
    with pytest.raises(errors.InternalTicket):
        await open_one(bus, actor=LEAD, type="design", requester_id=CLIENT)
    with pytest.raises(errors.InternalTicket):
        await bus.handle(c.AddObserver(actor=LEAD, channel="cli", ticket=number,
                                       person_id=COLLEAGUE))
    with pytest.raises(errors.TicketNotFound):
        await bus.handle(c.AddComment(actor=CLIENT, channel="cli", ticket=number, body="?",
                                      public=True))
    with pytest.raises(errors.InternalTypeNeeded):
        await bus.handle(c.SetType(actor=LEAD, channel="cli", ticket=number, type="question"))
    # Even an observer the rules would tell cannot hear of it unless they are staff.
    ticket.observers.add(COLLEAGUE)
    store.outbox.clear()
    await bus.handle(c.AddComment(actor=LEAD, channel="cli", ticket=number, body="x",
                                  public=True))
    assert all(i.person_id in (LEAD, SPEC, OTHER_SPEC) for i in store.outbox.values())


async def test_required_fields_are_read_from_the_ticket(bus: MessageBus, store: Store) -> None:
    number = await open_one(bus, type="incident")
    ticket = store.tickets[number]
    incident = TYPES[1]
    assert missing(ticket, incident) == ("due", "tags")  # Carl's company is Acme
    await bus.handle(c.ChangeTags(actor=LEAD, channel="cli", ticket=number, add=("a",)))
    await bus.handle(c.SetDue(actor=LEAD, channel="cli", ticket=number,
                              due=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))
    assert missing(store.tickets[number], incident) == ()
    # A link this build may not keep yet reads as missing, never as an error.
    assert missing(store.tickets[number], TicketType("x", required=("equipment",))) == \
        ("equipment",)


# --- storage -------------------------------------------------------------------------------


async def test_migration_0004_keeps_tickets_and_makes_them_public(db_url: str) -> None:
    """A database with tickets, made before internal tickets existed, upgrades in place
    (SQLite too, where comments and events point at `tickets`)."""
    await upgrade(db_url, "0003")
    db = make_engine(db_url)
    at = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    try:
        async with db.begin() as conn:
            await conn.execute(insert(tables.tickets).values(
                number=1, subject="Printer", description="jams", status="open",
                created_at=at, updated_at=at, channel="email", type="question",
                priority="normal", time_spent_minutes=20))
            await conn.execute(insert(tables.comments).values(
                ticket=1, body="jams", public=True, channel="email", created_at=at))
        await upgrade(db_url)
        assert await schema_diff(db_url) == []
        async with sql_uow_factory(db)() as uow:
            ticket = await uow.tickets.get(1)
            assert ticket is not None
            assert (ticket.internal, ticket.time_spent_minutes) == (False, 20)
            ticket.internal, ticket.planned_resolution = True, at
            await uow.tickets.save(ticket)
            await uow.commit()
        async with sql_uow_factory(db)() as uow:
            again = await uow.tickets.get(1)
        assert again is not None and (again.internal, again.planned_resolution) == (True, at)
    finally:
        await db.dispose()
