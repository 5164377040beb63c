"""F12 routing: each rule condition, first match wins, the decision on the ticket's history
(en and ru), the company-manager fallback, desks chosen by mailbox and chat, `/move` in the
engine, and the `[routing]` / `[[desks]]` config with its errors. Pure matching and the
engine on the in-memory fakes; the channels are in tests/test_desks.py."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import explain
from bot.ticket_view import routed_changes
from config.reader import ConfigError
from config.settings import from_mapping, load_settings
from engine import commands as c
from engine import errors
from engine.bus import MessageBus
from engine.desks import Desk, Desks
from engine.model import Company, Person, Role
from engine.notify.reactor import notify
from engine.routing import (
    Actions,
    Conditions,
    Facts,
    ManagerOf,
    Routing,
    RoutingRule,
    manager_of,
    normal,
)
from engine.settings import EngineSettings
from tests.fakes import FakeUnitOfWork, FixedClock, Store

ROOT = Path(__file__).resolve().parent.parent
LEAD, SAM, OLGA, CARL, STAN = 1, 2, 3, 4, 5
ACME = 10

# ---------------------------------------------------------------- pure matching

BASE = Facts(subject="Printer jams", type="question", tags=frozenset({"printer"}),
             mailbox="support@desk.test", chat_id=-100, company="Acme",
             contact=("carl@acme.test",), object_id=7)


@pytest.mark.parametrize(("when", "facts", "matches"), [
    (Conditions(mailboxes=frozenset({"billing@desk.test"})), BASE, False),
    (Conditions(mailboxes=frozenset({"billing@desk.test"})),
     dataclasses.replace(BASE, mailbox="billing@desk.test"), True),
    (Conditions(chats=frozenset({-100})), BASE, True),
    (Conditions(chats=frozenset({-200})), BASE, False),
    (Conditions(companies=frozenset({"Acme"})), BASE, True),
    (Conditions(companies=frozenset({"Beta"})), BASE, False),
    (Conditions(companies=frozenset({"Acme"})), dataclasses.replace(BASE, company=None), False),
    (Conditions(contacts=frozenset({"carl@acme.test"})), BASE, True),
    (Conditions(contacts=frozenset({"cora@acme.test"})), BASE, False),
    (Conditions(objects=frozenset({7})), BASE, True),
    (Conditions(objects=frozenset({8})), BASE, False),
    (Conditions(objects=frozenset({7})), dataclasses.replace(BASE, object_id=None), False),
    (Conditions(types=frozenset({"question"})), BASE, True),
    (Conditions(types=frozenset({"incident"})), BASE, False),
    (Conditions(tags=frozenset({"printer", "vpn"})), BASE, True),
    (Conditions(tags=frozenset({"vpn"})), BASE, False),
    (Conditions(keywords=(normal("PRINTER"),)), BASE, True),
    (Conditions(keywords=(normal("invoice"),)), BASE, False),
    # Russian keywords, case- and ё-insensitive.
    (Conditions(keywords=(normal("счёт"),)),
     dataclasses.replace(BASE, subject="СЧЕТ на оплату за ноябрь"), True),
    (Conditions(keywords=(normal("Принтер"),)),
     dataclasses.replace(BASE, subject="не печатает принтер"), True),
    # Every given condition must hold.
    (Conditions(companies=frozenset({"Acme"}), types=frozenset({"incident"})), BASE, False),
    (Conditions(), BASE, True),
])
def test_each_condition(when: Conditions, facts: Facts, matches: bool) -> None:
    assert when.matches(facts) is matches


def test_first_match_wins() -> None:
    routing = Routing(rules=(
        RoutingRule("billing", Conditions(mailboxes=frozenset({"billing@desk.test"}))),
        RoutingRule("acme", Conditions(companies=frozenset({"Acme"}))),
        RoutingRule("everything"),
    ))
    billing = routing.first_match(dataclasses.replace(BASE, mailbox="billing@desk.test"))
    assert billing is not None and billing.name == "billing"
    acme = routing.first_match(BASE)
    assert acme is not None and acme.name == "acme"
    rest = routing.first_match(dataclasses.replace(BASE, company=None))
    assert rest is not None and rest.name == "everything"
    assert Routing().first_match(BASE) is None


# ---------------------------------------------------------------- the engine on fakes


def people() -> dict[int, Person]:
    return {p.id: p for p in (
        Person(LEAD, "Lena Lead", Role.LEAD, ("lena@desk.test",)),
        Person(SAM, "Sam Spec", Role.SPECIALIST, ("sam@desk.test",)),
        Person(OLGA, "Olga Spec", Role.SPECIALIST, ("olga@desk.test",), language="ru"),
        Person(CARL, "Carl Client", Role.CLIENT, ("carl@acme.test",), company_id=ACME),
        Person(STAN, "Stan Stranger", Role.CLIENT, ("stan@else.test",)),
    )}


DESKS = Desks((Desk("support", addresses=("support@desk.test",), staff_chat_id=-100),
               Desk("billing", addresses=("billing@desk.test",), staff_chat_id=-200,
                    leads=("olga@desk.test",))))
RULES = Routing(rules=(
    RoutingRule("invoices", Conditions(keywords=(normal("счёт"), "invoice")),
                Actions(responsible="olga@desk.test", priority="high", tags=("money",),
                        desk="billing", observers=("lena@desk.test",))),
    RoutingRule("acme-manager", Conditions(companies=frozenset({"Acme"})),
                Actions(manager_of=ManagerOf.COMPANY)),
    RoutingRule("incidents", Conditions(types=frozenset({"incident"})),
                Actions(type="request")),
))


@pytest.fixture
def store() -> Store:
    return Store(people=people(), companies={ACME: Company(ACME, "Acme", manager_id=SAM)})


def bus_for(store: Store, routing: Routing = RULES, desks: Desks = DESKS) -> MessageBus:
    settings = EngineSettings(routing=routing, desks=desks)
    return MessageBus(lambda: FakeUnitOfWork(store), FixedClock(), settings, [notify])


async def open_one(bus: MessageBus, actor: int = CARL, subject: str = "Printer jams",
                   **kw: Any) -> int:
    number = (await bus.handle(c.OpenTicket(actor=actor, channel="email", subject=subject,
                                            description="text", **kw))).ticket
    assert number is not None
    return number


async def test_decision_on_the_ticket_and_in_its_history(store: Store) -> None:
    number = await open_one(bus_for(store), actor=STAN, subject="Счёт за ноябрь")
    ticket = store.tickets[number]
    assert (ticket.responsible_id, ticket.priority, ticket.desk) == (OLGA, "high", "billing")
    assert ticket.tags == {"money"} and ticket.observers == {LEAD}
    assert [e.kind for e in store.events] == ["opened", "routed"]
    payload = store.events[1].payload
    assert payload == {"rule": "invoices", "desk": "billing", "responsible_id": OLGA,
                       "observers": (LEAD,), "type": None, "priority": "high",
                       "tags": ("money",)}
    names = {OLGA: "Olga Spec", LEAD: "Lena Lead"}
    assert routed_changes(payload, names, "en") == (
        "assigned to Olga Spec, desk billing, priority high, tags money, "
        "observers Lena Lead")
    assert routed_changes(payload, names, "ru") == (
        "назначен(а) Olga Spec, отдел billing, приоритет высокий, теги money, "
        "наблюдатели Lena Lead")
    # Who hears: Olga (responsible) and the billing desk's lead, Olga; not Lena as lead
    # of another desk, but Lena as the rule's observer.
    kinds = sorted((i.kind.value, i.person_id) for i in store.outbox.values())
    assert kinds == [("ack", STAN), ("assigned", OLGA), ("created", LEAD)]


async def test_manager_of_company_and_the_fallback(store: Store) -> None:
    bus = bus_for(store)
    number = await open_one(bus)
    assert store.tickets[number].responsible_id == SAM
    assert [e.payload["rule"] for e in store.events if e.kind == "routed"] == ["acme-manager"]
    # No rule at all: the company's manager still gets the ticket, silently, as before.
    store.events.clear()
    second = await open_one(bus_for(store, routing=Routing()))
    assert store.tickets[second].responsible_id == SAM
    assert [e.kind for e in store.events] == ["opened"]


async def test_an_explicit_responsible_stands(store: Store) -> None:
    number = await open_one(bus_for(store), actor=LEAD, requester_id=CARL, responsible_id=OLGA)
    assert store.tickets[number].responsible_id == OLGA
    routed = next(e for e in store.events if e.kind == "routed")
    assert routed.payload["responsible_id"] is None


async def test_type_rule_and_desk_by_mailbox_and_chat(store: Store) -> None:
    bus = bus_for(store)
    first = await open_one(bus, actor=STAN, type="incident", mailbox="Billing+x@desk.test")
    assert (store.tickets[first].type, store.tickets[first].desk) == ("request", "billing")
    second = await open_one(bus, actor=STAN, source_ref="tg:-200:5")
    assert store.tickets[second].desk == "billing"
    third = await open_one(bus, actor=STAN, mailbox="support@desk.test")
    assert store.tickets[third].desk == "support"
    assert store.tickets[third].responsible_id is None


async def test_without_desks_nothing_changes(store: Store) -> None:
    number = await open_one(bus_for(store, routing=Routing(), desks=Desks()), actor=STAN)
    assert store.tickets[number].desk is None
    assert [e.kind for e in store.events] == ["opened"]


async def test_manager_of_contact_and_object_ask_the_directory(store: Store) -> None:
    async with FakeUnitOfWork(store) as uow:
        assert await manager_of(uow, ManagerOf.COMPANY, ACME) == SAM
        assert await manager_of(uow, ManagerOf.CONTACT, CARL) is None
        assert await manager_of(uow, ManagerOf.OBJECT, 7) is None
        assert await manager_of(uow, ManagerOf.COMPANY, None) is None


async def test_move_is_audited_and_refused_for_clients(store: Store) -> None:
    bus = bus_for(store)
    number = await open_one(bus, actor=STAN)
    before = (store.tickets[number].desk, len(store.events))
    with pytest.raises(errors.TicketNotFound):  # not even visible to another client
        await bus.handle(c.MoveTicket(actor=CARL, channel="email", ticket=number,
                                      desk="billing"))
    with pytest.raises(errors.NotAllowed) as refused:
        await bus.handle(c.MoveTicket(actor=STAN, channel="email", ticket=number,
                                      desk="billing"))
    assert explain("ru", refused.value).startswith("Извините")
    with pytest.raises(errors.UnknownDesk) as unknown:
        await bus.handle(c.MoveTicket(actor=SAM, channel="telegram", ticket=number,
                                      desk="finance"))
    assert explain("en", unknown.value) == \
        "There is no desk “finance”. Desks: support, billing."
    assert (store.tickets[number].desk, len(store.events)) == before
    outcome = await bus.handle(c.MoveTicket(actor=SAM, channel="telegram", ticket=number,
                                            desk="Billing"))
    assert [(e.kind, e.payload()) for e in outcome.events] == [
        ("moved", {"old": "support", "new": "billing"})]
    assert store.tickets[number].desk == "billing"


async def test_specialist_moves_only_their_own_or_unassigned(store: Store) -> None:
    bus = bus_for(store)
    number = await open_one(bus)  # Acme's: Sam's by the manager rule
    with pytest.raises(errors.NotAllowed) as refused:
        await bus.handle(c.MoveTicket(actor=OLGA, channel="telegram", ticket=number,
                                      desk="billing"))
    assert refused.value.responsible == "Sam Spec"
    await bus.handle(c.MoveTicket(actor=LEAD, channel="telegram", ticket=number,
                                  desk="billing"))
    assert store.tickets[number].desk == "billing"


# ---------------------------------------------------------------- config


def test_the_example_config_loads_with_its_rules_and_desks() -> None:
    settings = load_settings(ROOT / "config" / "ticketbot.example.toml", {})
    desks, routing = settings.engine.desks, settings.engine.routing
    assert len(desks.desks) >= 2 and desks.default == desks.desks[0].name
    assert routing.rules and all(r.name for r in routing.rules)
    # The default desk answers the support address and the [telegram] staff chat.
    assert desks.desks[0].has_address(settings.email.address)


BASE_CONFIG = """
[[people]]
name = "Lena"
role = "lead"
emails = ["lena@desk.test"]
[[people]]
name = "Sam"
role = "specialist"
emails = ["sam@desk.test"]
username = "sam"
[[people]]
name = "Carl"
emails = ["carl@acme.test"]
company = "Acme"
[[companies]]
name = "Acme"
domains = ["acme.test"]
[email]
address = "support@desk.test"
[telegram]
staff_chat_id = -100
[[desks]]
name = "support"
[[desks]]
name = "billing"
addresses = ["billing@desk.test"]
staff_chat_id = -200
specialists = ["@sam"]
"""


def load(extra: str) -> Any:
    return from_mapping(tomllib.loads(BASE_CONFIG + extra), {})


def test_config_reads_rules_desks_and_deadlines() -> None:
    settings = load("""
[routing.deadlines]
urgent = "2h"
low = 4
[[routing.rules]]
name = "billing"
when = { mailbox = "billing@desk.test", subject = ["Счёт", "invoice"] }
then = { responsible = "@sam", desk = "billing", priority = "high", tags = ["Money"] }
[[routing.rules]]
name = "acme"
when = { company = "Acme", chat = -100, object = [3] }
then = { responsible = "manager of company", observers = ["carl@acme.test"] }
""")
    desks, routing = settings.engine.desks, settings.engine.routing
    assert desks.desks[0] == Desk("support", addresses=("support@desk.test",),
                                  staff_chat_id=-100)
    assert desks.desks[1].specialists == ("sam@desk.test",)
    first, second = routing.rules
    assert first.when.mailboxes == {"billing@desk.test"}
    assert first.when.keywords == ("счет", "invoice")
    assert first.then == Actions(responsible="sam@desk.test", priority="high", tags=("money",),
                                 desk="billing")
    assert (second.when.chats, second.when.objects) == ({-100}, {3})
    assert second.then.manager_of is ManagerOf.COMPANY
    assert dict(routing.deadlines) == {"urgent": 120, "high": 540, "normal": 1620,
                                       "low": 4 * 540}
    # Without [[sla.policies]], the deadlines are the SLA's resolution targets.
    sla = {p.name: p.resolution_minutes for p in settings.sla.policies.policies}
    assert sla == {"urgent": 120, "high": 540, "normal": 1620, "low": 2160}


@pytest.mark.parametrize(("extra", "message"), [
    ("[[routing.rules]]\nname = \"x\"\nthen = { desk = \"finance\" }",
     "routing.rules[0].then.desk: no desk named 'finance' (known: support, billing)"),
    ("[[routing.rules]]\nname = \"x\"\nthen = { responsible = \"carl@acme.test\" }",
     "routing.rules[0].then.responsible: 'carl@acme.test' is a client, not staff"),
    ("[[routing.rules]]\nname = \"x\"\nthen = { responsible = \"ghost@desk.test\" }",
     "routing.rules[0].then.responsible: no declared person is 'ghost@desk.test'"),
    ("[[routing.rules]]\nname = \"x\"\nthen = { responsible = \"manager of planet\" }",
     "routing.rules[0].then.responsible: manager of what? one of company, contact, object, "
     "got 'manager of planet'"),
    ("[[routing.rules]]\nname = \"x\"\nwhen = { company = \"Beta\" }",
     "routing.rules[0].when.company: unknown 'Beta' (known: Acme)"),
    ("[[routing.rules]]\nname = \"x\"\nwhen = { colour = \"red\" }",
     "routing.rules[0].when.colour: unknown key (known: chat, company, contact, mailbox, "
     "object, subject, tag, type)"),
    ("[[routing.rules]]\nname = \"x\"\nthen = { priority = \"blocker\" }",
     "routing.rules[0].then.priority: unknown 'blocker' (known: low, normal, high, urgent)"),
    ("[[routing.rules]]\nwhen = { type = \"incident\" }",
     "routing.rules[0].name: every rule needs a name (the history names it)"),
    ("[routing.deadlines]\nhigh = \"soon\"",
     "routing.deadlines.high: expected business time like \"4h\" or \"3d\", got 'soon'"),
    ("[routing.deadlines]\nblocker = \"1h\"",
     "routing.deadlines.blocker: unknown priority (known: low, normal, high, urgent)"),
    ("[[desks]]\nname = \"billing\"",
     "desks[2]: name 'billing' is already billing's"),
    ("[[desks]]\nname = \"third\"\nleads = [\"carl@acme.test\"]",
     "desks[2].leads: 'carl@acme.test' is a client, not staff"),
    ("[[desks]]\nname = \"third\"\ncalendar = \"night\"",
     "desks[2].calendar: no calendar named 'night' (known: default)"),
])
def test_config_errors_name_the_key(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load(extra)
    assert str(failed.value) == message


def test_a_desk_calendar_counts_its_deadlines() -> None:
    """A desk with its own calendar (and no configured policies) gets the deadlines by
    priority on that calendar; other desks keep the default one."""
    settings = load("""
[[desks]]
name = "night"
calendar = "night"
[sla.calendars.default]
tz = "Europe/Moscow"
[sla.calendars.night]
tz = "Asia/Vladivostok"
""")
    night = settings.sla.policies_of("night")
    assert [p.name for p in night.policies] == ["night:urgent", "night:high", "night:normal",
                                                "night:low"]
    assert night.get("night:high").calendar.tz == ZoneInfo("Asia/Vladivostok")
    assert settings.sla.policies_of("billing") is settings.sla.policies
    assert settings.sla.policies.get("night:high").name == "night:high"



def test_sla_warnings_go_to_the_tickets_desk_chat() -> None:
    from config.sla import default_sla
    from engine.model import Status, Ticket
    from engine.sla.escalation import Ladder, Rung, StaffHours, deliveries

    now = FixedClock().now()
    ladder = Ladder(hours=StaffHours(default_sla().staff_calendar), staff_chat="-100",
                    desk_chats={"billing": "-200"})

    def chat(desk: str | None) -> list[str]:
        ticket = Ticket(number=1, subject="s", description="d", status=Status.OPEN,
                        created_at=now, updated_at=now, channel="email", desk=desk)
        return [t.recipient for t in deliveries(Rung.WARN, ticket, None, (), ladder, now)]

    assert (chat("billing"), chat("support"), chat(None)) == (["-200"], ["-100"], ["-100"])


async def test_a_desks_tickets_get_its_sla_policies(store: Store) -> None:
    from engine.sla.reactor import sla_reactor

    settings = load("""
[[sla.policies]]
name = "standard"
first_response_minutes = 240
resolution_minutes = 1440
[[sla.policies]]
name = "money"
first_response_minutes = 60
resolution_minutes = 480
[[desks]]
name = "finance"
addresses = ["finance@desk.test"]
sla_policies = ["money"]
""")
    sla = settings.sla
    bus = MessageBus(lambda: FakeUnitOfWork(store), FixedClock(), settings.engine,
                     [notify, sla_reactor(sla.policies, sla.desk_policies)])
    finance = await open_one(bus, actor=STAN, mailbox="finance@desk.test")
    support = await open_one(bus, actor=STAN, mailbox="support@desk.test")
    assert (store.tickets[finance].sla_policy, store.tickets[support].sla_policy) == \
        ("money", "standard")
    due = store.tickets[finance].resolution_due
    assert due is not None
    # Moved, the ticket follows the new desk's policies, and its deadline with them.
    await bus.handle(c.MoveTicket(actor=LEAD, channel="telegram", ticket=finance,
                                  desk="support"))
    moved = store.tickets[finance]
    assert moved.sla_policy == "standard" and moved.resolution_due != due


async def test_move_without_desks_says_there_are_none(store: Store) -> None:
    bus = bus_for(store, routing=Routing(), desks=Desks())
    number = await open_one(bus, actor=STAN)
    with pytest.raises(errors.UnknownDesk) as unknown:
        await bus.handle(c.MoveTicket(actor=LEAD, channel="telegram", ticket=number,
                                      desk="billing"))
    assert explain("ru", unknown.value) == "Отдела «billing» нет. Отделы: —."
    assert store.tickets[number].desk is None
