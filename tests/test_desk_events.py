"""Desk events: what the service desk decides outside any ticket (a contact registered, an
address suppressed, a mail ignored) is a command with an event, in the one event log with
no ticket, and staff see it in the export. Engine rules on the fakes; storage, migration
and the mail intake on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.email.act.fate import Fate
from bot.channels.email.act.intake import MailIntake
from bot.channels.email.act.process import IncomingMail, MailContext, MailProcessor
from bot.channels.email.act.session import Session
from bot.channels.email.receive import raw
from bot.channels.email.understand.identity import MailIdentity
from bot.runtime import App
from engine import commands as c
from engine import errors
from engine import events as e
from engine.bus import MessageBus
from engine.context import Context
from engine.inbox import InboundRow
from engine.model import Person, Role
from engine.ports import NewPerson
from engine.settings import EngineSettings
from engine.store import tables
from engine.store.db import make_engine
from engine.store.migrate import current_revision, schema_diff, upgrade
from engine.store.queries import export_all, ticket_detail
from engine.store.uow import sql_uow_factory
from tests.fakes import FakeUnitOfWork, FixedClock, Store
from tests.support_email import corpus, mail, make_runtime, settings_for
from tests.test_email_intake import dsn

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
LEAD, CLIENT = 1, 2


# ------------------------------------------------------------------ the engine, on fakes

@pytest.fixture
def store() -> Store:
    return Store(people={p.id: p for p in (
        Person(LEAD, "Lena Lead", Role.LEAD, ("lena@desk.test",)),
        Person(CLIENT, "Carl Client", Role.CLIENT, ("carl@acme.test",)))})


@pytest.fixture
def heard() -> list[e.Event]:
    return []


@pytest.fixture
def bus(store: Store, heard: list[e.Event]) -> MessageBus:
    async def listen(ctx: Context, event_id: int, event: e.Event) -> None:
        heard.append(event)

    return MessageBus(lambda: FakeUnitOfWork(store), FixedClock(), EngineSettings(), [listen])


def register(address: str, actor: int | None = None) -> c.RegisterContact:
    return c.RegisterContact(actor=actor, channel="email", at=T0, source_ref="<m1@x>",
                             address=address, name="Nina New", company_id=None,
                             language="ru")


async def test_an_unknown_address_becomes_a_client_with_one_event(
        bus: MessageBus, store: Store, heard: list[e.Event]) -> None:
    first = await bus.handle(register(" Nina@New.Example "))
    assert first.contact is not None and first.ticket is None and first.events == ()
    nina = store.people[first.contact]
    assert (nina.name, nina.role, nina.emails, nina.language) == (
        "Nina New", Role.CLIENT, ("nina@new.example",), "ru")
    assert store.desk_events == [e.ContactRegistered(
        actor=None, at=T0, channel="email", person_id=nina.id, address="nina@new.example")]
    again = await bus.handle(register("nina@new.example"))
    assert (again.contact, again.desk_events) == (nina.id, ())
    assert len(store.desk_events) == 1 and len(store.people) == 3
    assert heard == [] and store.events == []  # reactors hear ticket events only


async def test_a_known_address_gives_its_person_and_records_nothing(
        bus: MessageBus, store: Store) -> None:
    outcome = await bus.handle(register("CARL@acme.test"))
    assert (outcome.contact, outcome.desk_events, store.desk_events) == (CLIENT, (), [])


async def test_a_client_cannot_register_or_suppress(bus: MessageBus, store: Store) -> None:
    with pytest.raises(errors.NotAllowed):
        await bus.handle(register("x@new.example", actor=CLIENT))
    with pytest.raises(errors.NotAllowed):
        await bus.handle(c.SuppressAddress(actor=CLIENT, channel="email", address="a@b.c",
                                           reason="spite"))
    assert (store.desk_events, store.suppressed, len(store.people)) == ([], {}, 2)


async def test_suppressing_writes_the_address_with_an_event(bus: MessageBus,
                                                            store: Store) -> None:
    outcome = await bus.handle(c.SuppressAddress(actor=None, channel="email", at=T0,
                                                 address="Bob@Acme.test", reason="550"))
    assert store.suppressed == {"bob@acme.test": ("550", T0)}
    assert outcome.desk_events == (e.AddressSuppressed(
        actor=None, at=T0, channel="email", address="bob@acme.test", reason="550"),)
    assert store.desk_events == list(outcome.desk_events)


async def test_lifting_a_suppression_says_what_it_ends_and_once(bus: MessageBus,
                                                                store: Store) -> None:
    await bus.handle(c.SuppressAddress(actor=None, channel="email", at=T0,
                                       address="bob@acme.test", reason="bounce 5.1.1"))
    later = T0 + dt.timedelta(days=2)
    lift = c.UnsuppressAddress(actor=None, channel="email", at=later, address="Bob@Acme.test",
                               reason="wrote to us")
    outcome = await bus.handle(lift)
    assert store.suppressed == {}
    assert outcome.desk_events == (e.AddressUnsuppressed(
        actor=None, at=later, channel="email", address="bob@acme.test", reason="wrote to us",
        suppressed_for="bounce 5.1.1"),)
    again = await bus.handle(lift)  # nothing suppressed: nothing recorded
    assert again.desk_events == () and len(store.desk_events) == 2
    with pytest.raises(errors.NotAllowed):
        await bus.handle(c.UnsuppressAddress(actor=CLIENT, channel="email", address="a@b.c",
                                             reason="me"))


async def test_an_ignored_mail_is_recorded_with_its_reason(bus: MessageBus,
                                                           store: Store) -> None:
    outcome = await bus.handle(c.IgnoreMail(actor=CLIENT, channel="email", at=T0,
                                            inbound_id=7, reason="rating refused: twice",
                                            rule="rating"))
    assert outcome.ticket is None and outcome.events == ()
    [ignored] = store.desk_events
    assert ignored == e.MailIgnored(actor=CLIENT, at=T0, channel="email", inbound_id=7,
                                    reason="rating refused: twice", rule="rating")
    assert ignored.payload() == {"inbound_id": 7, "reason": "rating refused: twice",
                                 "rule": "rating"}


async def test_only_staff_or_the_service_requeue_a_quarantined_mail(
        bus: MessageBus, store: Store) -> None:
    def requeue(actor: int | None, quarantined: bool = True) -> c.RequeueMail:
        return c.RequeueMail(actor=actor, channel="cli", at=T0, inbound_id=9,
                             quarantined=quarantined)

    # A client is refused before learning whether mail 9 exists; nothing is recorded.
    for found in (True, False):
        with pytest.raises(errors.NotAllowed):
            await bus.handle(requeue(CLIENT, found))
    with pytest.raises(errors.QuarantinedMailNotFound):
        await bus.handle(requeue(LEAD, quarantined=False))
    assert store.desk_events == []
    for actor in (LEAD, None):
        outcome = await bus.handle(requeue(actor))
        assert outcome.ticket is None and outcome.desk_events == (
            e.MailRequeued(actor=actor, at=T0, channel="cli", inbound_id=9),)
    assert len(store.desk_events) == 2 and store.events == []


def test_every_desk_event_kind_is_registered_once() -> None:
    classes = [k for k in vars(e).values()
               if isinstance(k, type) and issubclass(k, e.DeskEvent) and k is not e.DeskEvent]
    assert sorted(e.DESK_EVENT_TYPES) == sorted(k.kind for k in classes)
    assert not set(e.DESK_EVENT_TYPES) & set(e.EVENT_TYPES)
    assert not any(issubclass(k, e.Event) for k in classes)


# ------------------------------------------------------------------ stored and exported

async def test_each_desk_command_is_stored_and_exported(engine: AsyncEngine) -> None:
    bus = MessageBus(sql_uow_factory(engine, FixedClock()), FixedClock(), EngineSettings())
    contact = (await bus.handle(register("Nina@New.Example"))).contact
    await bus.handle(register("nina@new.example"))  # known: nothing recorded
    await bus.handle(c.SuppressAddress(actor=None, channel="email", at=T0,
                                       address="nina@new.example", reason="550 no such user"))
    await bus.handle(c.IgnoreMail(actor=contact, channel="email", at=T0, inbound_id=3,
                                  reason="auto_reply: auto-submitted", rule="noise"))
    data = await export_all(engine)
    assert data["tickets"] == []
    assert [p["emails"] for p in data["people"]] == [["nina@new.example"]]
    assert data["desk_events"] == [
        {"id": 1, "kind": "contact_registered", "actor": None, "at": T0.isoformat(),
         "channel": "email", "payload": {"person_id": contact, "address": "nina@new.example",
                     "telegram_id": None}},
        {"id": 2, "kind": "address_suppressed", "actor": None, "at": T0.isoformat(),
         "channel": "email",
         "payload": {"address": "nina@new.example", "reason": "550 no such user"}},
        {"id": 3, "kind": "mail_ignored", "actor": contact, "at": T0.isoformat(),
         "channel": "email",
         "payload": {"inbound_id": 3, "reason": "auto_reply: auto-submitted",
                     "rule": "noise"}},
    ]


async def test_migration_0002_keeps_the_events_of_a_database_made_at_0001(
        db_url: str) -> None:
    await upgrade(db_url, "0001")
    db = make_engine(db_url)
    try:
        bus = MessageBus(sql_uow_factory(db, FixedClock()), FixedClock(), EngineSettings())
        async with sql_uow_factory(db)() as uow:
            ann = await uow.people.add(NewPerson(name="Ann", emails=("ann@example.com",)))
            await uow.commit()
        # The rows as the code of 0001 wrote them: today's code writes columns added since.
        number = 1
        async with db.begin() as conn:
            await conn.execute(insert(tables.tickets).values(
                number=number, subject="Printer", description="jams", status="open",
                created_at=T0, updated_at=T0, channel="email", type="question",
                priority="normal", requester_id=ann.id))
            await conn.execute(insert(tables.events), [
                {"ticket": number, "kind": "opened", "actor": ann.id, "at": T0,
                 "channel": "email", "payload": {"subject": "Printer"}},
                {"ticket": number, "kind": "tag", "actor": None, "at": T0, "channel": "email",
                 "payload": {"tag": "hardware"}}])
        await upgrade(db_url)
        assert await current_revision(db_url) == _head()
        assert await schema_diff(db_url) == []
        detail = await ticket_detail(db, number)
        assert detail is not None
        assert [(ev["kind"], ev["actor"]) for ev in detail["events"]] == [
            ("opened", ann.id), ("tag", None)]
        await bus.handle(c.IgnoreMail(actor=None, channel="email", at=T0, inbound_id=1,
                                      reason="loop", rule="noise"))
        data = await export_all(db)
        assert [ev["kind"] for ev in data["desk_events"]] == ["mail_ignored"]
        assert [ev["kind"] for ev in data["tickets"][0]["events"]] == ["opened", "tag"]
    finally:
        await db.dispose()


# ------------------------------------------------------------------ the mail intake

@pytest.fixture
async def desk(db_url: str) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_url), FixedClock())
    yield rt
    await rt.close()


async def keep(rt: App, data: bytes) -> None:
    await raw.keep(rt.inbound, data, T0)


async def desk_events(rt: App) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await export_all(rt.db))["desk_events"]
    return rows


class Counting(MailProcessor):
    """Counts processors made: a batch makes one for all its mails."""

    made: list[Session] = []

    def __init__(self, ctx: MailContext, session: Session) -> None:
        super().__init__(ctx, session)
        Counting.made.append(session)


async def test_an_unknown_sender_is_registered_once_for_two_mails_in_one_batch(
        desk: App) -> None:
    Counting.made = []
    await keep(desk, mail(sender="Nina New <nina@new.example>", subject="VPN down"))
    await keep(desk, mail(sender="nina@new.example", subject="Also the printer"))
    # The hold is not what this is about: on a loaded box the first mail may take longer
    # than the default 0.5 s, and the batch would commit after it.
    assert await MailIntake(desk, processor=Counting, hold_seconds=60).drain() == 2
    # both in the batch's one transaction (the other session only read the mails)
    assert len([s for s in Counting.made if s.bus is not desk.bus]) == 1
    data = await export_all(desk.db)
    [nina] = [p for p in data["people"] if p["emails"] == ["nina@new.example"]]
    assert (nina["name"], nina["role"]) == ("Nina New", "client")
    assert data["desk_events"] == [
        {"id": data["desk_events"][0]["id"], "kind": "contact_registered", "actor": None,
         "at": T0.isoformat(), "channel": "email",
         "payload": {"person_id": nina["id"], "address": "nina@new.example",
                     "telegram_id": None}}]
    assert [t["requester_id"] for t in data["tickets"]] == [nina["id"], nina["id"]]
    assert [r["status"] for r in data["inbound"]] == ["done", "done"]


async def test_an_ignored_auto_reply_has_its_reason_and_no_ticket_nor_mail(
        desk: App) -> None:
    await keep(desk, corpus("noise_autoreply_rfc3834.eml"))
    await MailIntake(desk).drain()
    data = await export_all(desk.db)
    [row] = data["inbound"]
    assert (row["status"], row["rule"]) == ("ignored", "noise")
    [ignored] = data["desk_events"]
    assert (ignored["kind"], ignored["actor"], ignored["at"], ignored["channel"]) == (
        "mail_ignored", None, T0.isoformat(), "email")
    assert ignored["payload"] == {"inbound_id": row["id"], "reason": row["reason"],
                                  "rule": "noise"}
    assert row["reason"].startswith("auto_reply")
    assert (data["tickets"], data["outbound"]) == ([], [])
    assert [p["emails"] for p in data["people"]
            if "ivan.petrov@client.example.ru" in p["emails"]] == []


async def test_a_bounce_of_our_mail_suppresses_the_address_and_nothing_else(
        desk: App) -> None:
    await keep(desk, mail(message_id="<first@acme.example>"))
    await MailIntake(desk).drain()
    before = await export_all(desk.db)
    ack = next(o for o in before["outbound"] if o["kind"] == "ack")
    ours = MailIdentity.of(desk.settings, desk.secret).message_id(ack["id"], 1,
                                                                   ack["person_id"])
    await keep(desk, dsn(ours, "Carl@acme.example"))
    await MailIntake(desk).drain()
    after = await export_all(desk.db)
    row = after["inbound"][-1]
    suppressed, ignored = after["desk_events"][len(before["desk_events"]):]
    assert (suppressed["kind"], suppressed["actor"], suppressed["at"]) == (
        "address_suppressed", None, T0.isoformat())
    assert suppressed["payload"]["address"] == "carl@acme.example"
    assert suppressed["payload"]["reason"].startswith(f"bounce {row['external_id']}: ")
    assert await desk.inbound.is_suppressed("carl@acme.example")
    # The mail itself is ignored (with the ticket noted, as before): no new person, ticket
    # or mail; the ticket's trail gains only the internal note.
    assert (ignored["kind"], ignored["payload"]["inbound_id"]) == ("mail_ignored", row["id"])
    assert ignored["payload"]["reason"] == row["reason"]
    assert (after["people"], after["outbound"]) == (before["people"], before["outbound"])
    [ticket] = after["tickets"]
    assert [ev["kind"] for ev in ticket["events"]][len(before["tickets"][0]["events"]):] == [
        "comment"]


class Poison(MailProcessor):
    """Fails on one mail, so the batch rolls back and the mails go one by one."""

    async def handle(self, row: InboundRow, inc: IncomingMail | None = None) -> Fate:
        if row.external_id == "<poison@acme.example>":
            raise RuntimeError("cannot process this one")
        return await super().handle(row, inc)


async def test_a_batch_rolled_back_records_each_ignored_mail_once(desk: App) -> None:
    await keep(desk, corpus("noise_autoreply_rfc3834.eml"))
    await keep(desk, mail(message_id="<poison@acme.example>"))
    await MailIntake(desk, processor=Poison).drain()
    data = await export_all(desk.db)
    assert [(ev["kind"], ev["payload"]["inbound_id"]) for ev in data["desk_events"]] == [
        ("mail_ignored", data["inbound"][0]["id"])]


def _head() -> str | None:
    """The newest migration, whichever helper's it is once they are chained."""
    from alembic.script import ScriptDirectory

    from engine.store.migrate import alembic_config
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
