"""The SLA scan on SQLite and PostgreSQL: each alert exactly once across overlapping scans and
restarts, held outside working hours, and candidates found through the due-time indexes."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import t
from engine import commands as c
from engine.bus import MessageBus
from engine.model import Status
from engine.sla.escalation import Ladder, StaffHours
from engine.sla.policy import Target
from engine.store.db import make_engine
from engine.store.outbox import OutboxStore
from engine.store.sla_scan import ScanReport, candidates_query, scan_sla
from engine.store.tables import outbox, sla_alerts
from tests.fakes import FixedClock
from tests.support_sla import (
    RU,
    STAFF_CHAT,
    alert_rows,
    count,
    msk,
    open_ticket,
    policies,
    sla_outbox,
    sql_bus,
    sql_people,
)

REGISTRY = policies()  # std: first response 60 min, resolution 540 min, warn at 75 %
LADDER = Ladder(StaffHours(RU), staff_chat=STAFF_CHAT)


async def scan(engine: AsyncEngine, now: dt.datetime) -> ScanReport:
    return await scan_sla(engine, REGISTRY, LADDER, now, t)


async def assigned_ticket(engine: AsyncEngine,
                          clock: FixedClock) -> tuple[MessageBus, int, dict[str, int]]:
    ids = await sql_people(engine)
    bus = sql_bus(engine, clock, REGISTRY)
    number = await open_ticket(bus, actor=ids["client"])
    await bus.handle(c.Assign(actor=ids["lead"], channel="cli", ticket=number,
                              person_id=ids["spec"]))
    return bus, number, ids


async def test_ladder_warns_then_breaches_exactly_once_each(engine: AsyncEngine) -> None:
    clock = FixedClock(msk(2026, 11, 23, 9))
    _, number, _ = await assigned_ticket(engine, clock)
    assert await scan(engine, msk(2026, 11, 23, 9, 44)) == ScanReport()
    reports = await asyncio.gather(*(scan(engine, msk(2026, 11, 23, 9, 45)) for _ in range(2)))
    assert sorted(r.warnings for r in reports) == [0, 1]  # overlapping scans: one warns
    assert await alert_rows(engine) == [(number, "warn", "first_response")]
    assert await sla_outbox(engine) == [("sla_warning", "telegram", STAFF_CHAT, None)]
    await scan(engine, msk(2026, 11, 23, 10))
    assert await alert_rows(engine) == [(number, "warn", "first_response"),
                                        (number, "breach", "first_response")]
    breach = [(k, r) for k, _, r, _ in await sla_outbox(engine) if k == "sla_breach"]
    assert breach == [("sla_breach", "102"), ("sla_breach", "101")]  # responsible, then lead


async def test_no_second_alert_after_a_restart(db_url: str, engine: AsyncEngine) -> None:
    clock = FixedClock(msk(2026, 11, 23, 9))
    await assigned_ticket(engine, clock)
    await scan(engine, msk(2026, 11, 23, 10, 5))
    before = (await count(engine, sla_alerts), await count(engine, outbox))
    restarted = make_engine(db_url)  # a new process: nothing remembered but the database
    try:
        assert await scan(restarted, msk(2026, 11, 23, 10, 6)) == ScanReport()
        assert (await count(restarted, sla_alerts), await count(restarted, outbox)) == before
    finally:
        await restarted.dispose()


async def test_a_target_first_seen_after_its_breach_skips_the_warning(
        engine: AsyncEngine) -> None:
    await assigned_ticket(engine, FixedClock(msk(2026, 11, 23, 9)))
    report = await scan(engine, msk(2026, 11, 23, 11))
    assert (report.warnings, report.breaches) == (0, 1)


async def test_alerts_outside_working_hours_are_held_until_the_next_working_minute(
        engine: AsyncEngine) -> None:
    # Opened Friday 17:00: the first response is due 18:00; the scan runs at 20:00.
    await assigned_ticket(engine, FixedClock(msk(2026, 11, 20, 17)))
    await scan(engine, msk(2026, 11, 20, 20))
    held = {not_before for kind, _, _, not_before in await sla_outbox(engine)
            if kind == "sla_breach"}
    assert held == {msk(2026, 11, 23, 9)}
    # The delivery side keeps them until Monday 09:00 MSK.
    deliveries, lease = OutboxStore(engine), dt.timedelta(minutes=1)
    early = await deliveries.claim("telegram", msk(2026, 11, 23, 8, 59), 10, lease)
    assert [r.kind for r in early if r.kind == "sla_breach"] == []
    claimed = await deliveries.claim("telegram", msk(2026, 11, 23, 9), 10, lease)
    assert sorted(r.recipient for r in claimed if r.kind == "sla_breach") == ["101", "102"]


async def test_waiting_answered_and_resolved_tickets_are_not_chased(
        engine: AsyncEngine) -> None:
    clock = FixedClock(msk(2026, 11, 23, 9))
    bus, waiting, ids = await assigned_ticket(engine, clock)
    client, lead = ids["client"], ids["lead"]
    answered, resolved = await open_ticket(bus, client), await open_ticket(bus, client)
    await bus.handle(c.SetStatus(actor=lead, channel="cli", ticket=waiting,
                                 status=Status.WAITING, until=msk(2026, 11, 30, 9)))
    await bus.handle(c.AddComment(actor=lead, channel="cli", ticket=answered, body="On it",
                                  public=True))
    await bus.handle(c.SetStatus(actor=lead, channel="cli", ticket=resolved,
                                 status=Status.RESOLVED))
    await scan(engine, msk(2026, 11, 23, 10, 30))
    assert await alert_rows(engine) == []


def test_candidates_come_from_the_due_time_index() -> None:
    """SQLite's plan for the candidate query searches the due-time index (no table scan)."""
    import sqlite3

    from engine.store.tables import metadata

    db = sqlite3.connect(":memory:")
    now = msk(2026, 11, 23, 10).astimezone(dt.UTC)
    for table in metadata.sorted_tables:
        db.executescript(str(_ddl(table)) + ";")
    for index in (i for tbl in metadata.sorted_tables for i in tbl.indexes):
        db.execute(str(_ddl_index(index)))
    for target in Target:
        stmt = candidates_query(target, now, now, 500, postgres=False)
        sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
        assert f"INDEX ix_tickets_{target.value}_due" in plan, plan
        assert "SCAN tickets" not in plan, plan


def _ddl(table: object) -> object:
    from sqlalchemy.schema import CreateTable

    return CreateTable(table).compile(dialect=sqlite.dialect())  # type: ignore[arg-type]


def _ddl_index(index: object) -> object:
    from sqlalchemy.schema import CreateIndex

    return CreateIndex(index).compile(dialect=sqlite.dialect())  # type: ignore[arg-type]


async def test_a_pause_that_moves_the_due_time_does_not_warn_again(
        engine: AsyncEngine) -> None:
    """The warning is once per ticket and target; the breach still comes at the new due."""
    from sqlalchemy import update

    from engine.store.tables import tickets

    clock = FixedClock(msk(2026, 11, 23, 9))
    _, number, _ = await assigned_ticket(engine, clock)
    await scan(engine, msk(2026, 11, 23, 9, 45))
    async with engine.begin() as conn:  # what a pause does: the due time moves later
        await conn.execute(update(tickets).where(tickets.c.number == number)
                           .values(first_response_due=msk(2026, 11, 23, 10, 30)))
    report = await scan(engine, msk(2026, 11, 23, 10, 15))
    assert (report.warnings, report.breaches) == (0, 0)
    assert [k for k, _, _, _ in await sla_outbox(engine)].count("sla_warning") == 1
    assert (await scan(engine, msk(2026, 11, 23, 10, 31))).breaches == 1
