"""One SLA scan over 100,000 open tickets, on SQLite and on PostgreSQL.

Run from the project root: .venv/bin/python -m bench.sla_scan [--pg URL] [--tickets N]
PostgreSQL defaults to postgresql+asyncpg://postgres@127.0.0.1:5432 (a scratch database is
created and dropped). The tickets are bulk-inserted (seeded, no engine round trips):

* due times spread over the ten days before and the forty days after the scan (all open or in
  progress; half still without a first response), so about a fifth are overdue;
* "steady": the state a running service is in. Every target already overdue or inside its
  warning window was alerted by earlier scans; 40 targets became due since the last scan.
* "backlog": the same tickets with no alert recorded at all (a first start on an old
  database). The scan handles its batch limit (500 per target) and leaves the rest to the
  next scans, 30 s apart.

Each figure is the best of five scans; every scan runs in a transaction that is rolled back,
so each one sees the same state.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.pgscratch import scratch_pg
from bot.i18n import t
from engine.model import Role, Status
from engine.sla.calendar import WEEKDAYS, build_calendar
from engine.sla.escalation import Ladder, StaffHours, rung
from engine.sla.policy import SlaPolicies, SlaPolicy, Target
from engine.store import sla_scan
from engine.store.db import make_engine
from engine.store.migrate import upgrade
from engine.store.tables import people, sla_alerts, tickets

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
RU = build_calendar("ru", "Europe/Moscow", dict.fromkeys(WEEKDAYS[:5], ["09:00-18:00"]))
STD = SlaPolicy("std", RU, first_response_minutes=240, resolution_minutes=2700,
                next_response_minutes=480)
REGISTRY = SlaPolicies(policies=(STD,), rules=(), default="std")
LADDER = Ladder(StaffHours(RU), staff_chat="-100500")
FRESH = 40  # targets that became due since the previous scan
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CHUNK = 5000


def _ticket(number: int, rng: random.Random) -> dict[str, Any]:
    created = NOW - dt.timedelta(days=20)
    answered = number % 2 == 0
    return {
        "number": number, "subject": f"ticket {number}", "description": "", "channel": "email",
        "status": (Status.OPEN if number % 3 else Status.IN_PROGRESS).value,
        "created_at": created, "updated_at": created, "type": "question",
        "priority": "normal", "responsible_id": 2, "cc": [], "sla_policy": "std",
        "first_response_at": created + dt.timedelta(hours=1) if answered else None,
        "first_response_due": NOW + dt.timedelta(minutes=rng.randrange(-14_400, 57_600)),
        "resolution_due": NOW + dt.timedelta(minutes=rng.randrange(-14_400, 57_600)),
        # A quarter of the answered tickets have a client message waiting for an answer.
        "next_response_due": NOW + dt.timedelta(minutes=rng.randrange(-14_400, 57_600))
        if answered and number % 4 == 0 else None,
    }


def _alerts(rows: list[dict[str, Any]], before: dt.datetime) -> list[dict[str, Any]]:
    """The alerts earlier scans (the last one at `before`) would have recorded."""
    found = []
    for row in rows:
        for target in Target:
            if target is Target.FIRST_RESPONSE and row["first_response_at"] is not None:
                continue
            due = row[f"{target.value}_due"]
            if due is None:
                continue
            step = rung(REGISTRY.get("std"), target, due, before)
            if step is not None:
                found.append({"ticket": row["number"], "kind": step.value,
                              "target": target.value, "due_at": due, "sent_at": before})
    return found


def _fresh(rows: list[dict[str, Any]]) -> None:
    """Make FRESH targets fall due between the previous scan and this one."""
    for i, row in enumerate(rows[:FRESH]):
        row["first_response_at"] = None
        row["first_response_due"] = NOW - dt.timedelta(seconds=1 + i % 20)


async def _fill(engine: AsyncEngine, n: int, steady: bool) -> None:
    rng = random.Random(2026)
    rows = [_ticket(i, rng) for i in range(1, n + 1)]
    _fresh(rows)
    async with engine.begin() as conn:
        await conn.execute(people.insert(), [
            {"id": 1, "name": "Lena Lead", "role": Role.LEAD.value, "telegram_id": 101},
            {"id": 2, "name": "Sam Spec", "role": Role.SPECIALIST.value, "telegram_id": 102}])
        for start in range(0, n, CHUNK):
            await conn.execute(tickets.insert(), rows[start:start + CHUNK])
        if steady:
            alerts = _alerts(rows[FRESH:], NOW - dt.timedelta(seconds=30))
            for start in range(0, len(alerts), CHUNK):
                await conn.execute(sla_alerts.insert(), alerts[start:start + CHUNK])
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE"))


class _Rollback(Exception):
    pass


async def _timed_scan(engine: AsyncEngine) -> tuple[float, sla_scan.ScanReport]:
    """One scan whose transaction is rolled back afterwards, so every run sees the same data."""
    async with engine.connect() as conn:
        tx = await conn.begin()
        t0 = time.perf_counter()
        report = await sla_scan.scan_on(conn, REGISTRY, LADDER, NOW, t)
        elapsed = time.perf_counter() - t0
        await tx.rollback()
    return elapsed, report


async def _plan(engine: AsyncEngine) -> str:
    """The database's own plan for the first-response candidate query, on one line."""
    async with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        stmt = sla_scan.candidates_query(Target.FIRST_RESPONSE, NOW, NOW, sla_scan.BATCH,
                                         postgres)
        compiled = stmt.compile(dialect=conn.dialect,
                                compile_kwargs={"render_postcompile": True})
        params = tuple(compiled.params[k] for k in compiled.positiontup or ())
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        rows = await conn.exec_driver_sql(explain + str(compiled), params)
        lines = (str(r[-1]).strip().lstrip("-> ") for r in rows)
        return " | ".join(line.split("  (cost")[0] for line in lines
                          if "Scan" in line or "SEARCH" in line or "SCAN" in line)


async def _measure(label: str, url: str, n: int, steady: bool) -> None:
    await upgrade(url)
    engine = make_engine(url)
    try:
        t0 = time.perf_counter()
        await _fill(engine, n, steady)
        filled = time.perf_counter() - t0
        runs = [await _timed_scan(engine) for _ in range(5)]
        best, report = min(runs, key=lambda r: r[0])
        kind = "steady " if steady else "backlog"
        print(f"{label:<10} {kind} {n:>7,} open tickets (insert {filled:5.1f} s): scan "
              f"{best * 1000:7.1f} ms  -> {report.warnings} warnings, {report.breaches} "
              f"breaches, {report.deliveries} deliveries")
        if steady:
            print(f"{'':<10} plan: {await _plan(engine)}")
    finally:
        await engine.dispose()


async def main(pg: str, n: int) -> None:
    for steady in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            await _measure("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", n, steady)
        async with scratch_pg(pg) as url:
            await _measure("PostgreSQL", url, n, steady)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server (any database)")
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.pg, args.tickets))
