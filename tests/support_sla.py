"""Shared pieces of the SLA tests: calendars on known years, policies, people, a bus with the
SLA reactor (on the fakes or on a real database), and a clock to move by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from engine import commands as c
from engine.bus import MessageBus, Reactor
from engine.model import Company, Person, Role
from engine.notify.reactor import notify
from engine.ports import NewPerson
from engine.settings import EngineSettings
from engine.sla.calendar import WEEKDAYS, BusinessCalendar, build_calendar
from engine.sla.policy import SlaPolicies, SlaPolicy, SlaRule
from engine.sla.reactor import sla_reactor
from engine.store.tables import outbox, sla_alerts
from engine.store.uow import sql_uow_factory
from tests.fakes import FakeUnitOfWork, FixedClock, Store

MSK = ZoneInfo("Europe/Moscow")
BER = ZoneInfo("Europe/Berlin")
YEARS = range(2024, 2029)

RU = build_calendar("ru", "Europe/Moscow", {d: ["09:00-18:00"] for d in WEEKDAYS[:5]},
                    years=YEARS)
BERLIN = build_calendar("de", "Europe/Berlin", {d: ["09:00-17:00"] for d in WEEKDAYS[:5]},
                        country="DE", years=YEARS)
BERLIN_24_7 = build_calendar("de-24", "Europe/Berlin", {d: ["00:00-24:00"] for d in WEEKDAYS},
                             country=None, years=YEARS)

LEAD, SPEC, CLIENT, ADMIN = 1, 2, 3, 4
ACME = 10
STAFF_CHAT = "-100500"


def msk(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=MSK)


def policy(name: str = "std", first: int = 60, resolution: int = 540,
           cal: BusinessCalendar = RU, **kw: object) -> SlaPolicy:
    return SlaPolicy(name=name, calendar=cal, first_response_minutes=first,
                     resolution_minutes=resolution, **kw)  # type: ignore[arg-type]


def policies(*extra: SlaPolicy, rules: Sequence[SlaRule] = ()) -> SlaPolicies:
    return SlaPolicies(policies=(policy(), *extra), rules=tuple(rules), default="std")


def people() -> dict[int, Person]:
    return {p.id: p for p in (
        Person(LEAD, "Lena Lead", Role.LEAD, ("lead@desk.test",), telegram_id=101),
        Person(SPEC, "Sam Spec", Role.SPECIALIST, ("sam@desk.test",), telegram_id=102,
               language="ru"),
        Person(CLIENT, "Carl Client", Role.CLIENT, ("carl@acme.test",), company_id=ACME),
        Person(ADMIN, "Ada Admin", Role.ADMIN, ("ada@desk.test",)),
    )}


def fake_store() -> Store:
    return Store(people=people(), companies={ACME: Company(ACME, "Acme")})


def fake_bus(store: Store, clock: FixedClock, registry: SlaPolicies) -> MessageBus:
    reactors: list[Reactor] = [notify, sla_reactor(registry)]
    return MessageBus(lambda: FakeUnitOfWork(store), clock, EngineSettings(), reactors)


async def open_ticket(bus: MessageBus, actor: int = CLIENT, **kw: object) -> int:
    cmd = c.OpenTicket(actor=actor, channel="email", subject="Printer", description="It jams",
                       **kw)  # type: ignore[arg-type]
    number = (await bus.handle(cmd)).ticket
    assert number is not None
    return number


async def sql_people(engine: AsyncEngine) -> dict[str, int]:
    """The lead, a specialist and a client in a real database; their ids by role name."""
    uow = sql_uow_factory(engine)()
    async with uow:
        found = {
            "lead": await uow.people.add(NewPerson("Lena Lead", Role.LEAD, ("lead@desk.test",),
                                                   telegram_id=101)),
            "spec": await uow.people.add(NewPerson("Sam Spec", Role.SPECIALIST,
                                                   ("sam@desk.test",), telegram_id=102)),
            "client": await uow.people.add(NewPerson("Carl Client", Role.CLIENT,
                                                     ("carl@acme.test",))),
        }
        await uow.commit()
    return {name: p.id for name, p in found.items()}


def sql_bus(engine: AsyncEngine, clock: FixedClock, registry: SlaPolicies) -> MessageBus:
    return MessageBus(sql_uow_factory(engine, clock), clock, EngineSettings(),
                      [notify, sla_reactor(registry)])


async def alert_rows(engine: AsyncEngine) -> list[tuple[int, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(sla_alerts.c.ticket, sla_alerts.c.kind,
                                         sla_alerts.c.target).order_by(sla_alerts.c.id))
        return [(r.ticket, r.kind, r.target) for r in rows]


async def sla_outbox(engine: AsyncEngine) -> list[tuple[str, str, str, dt.datetime | None]]:
    """(kind, channel, recipient, not_before) of every SLA outbox row."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(outbox.c.kind, outbox.c.channel, outbox.c.recipient, outbox.c.not_before)
            .where(outbox.c.kind.in_(("sla_warning", "sla_breach"))).order_by(outbox.c.id))
        return [(r.kind, r.channel, r.recipient, r.not_before) for r in rows]


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        result: int = (await conn.execute(
            select(func.count()).select_from(table))).scalar_one()  # type: ignore[arg-type]
        return result
