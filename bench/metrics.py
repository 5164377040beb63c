"""Monthly metrics over 1,000,000 events (target: under 2 s) on SQLite and PostgreSQL.

Run from the project root: .venv/bin/python -m bench.metrics [--events N] [--sqlite-only]
Seeds 24 months of tickets (each with its opened and status events plus comment events),
dialogs and ratings in bulk (tests/support_metrics.py), then times `monthly_report` for
one month with its six-month history (what `/stats` and the digest run) and for the month
alone, three runs each. The schema is `tables.metadata` as it is now (with the metrics
indexes), created directly. PostgreSQL: $TICKETBOT_BENCH_PG_URL or postgres@127.0.0.1,
in a database of its own that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.pgscratch import scratch_pg
from engine import metrics as m
from engine.store import tables as t
from engine.store.db import make_engine
from engine.store.metrics_sql import monthly_report
from engine.store.migrate import upgrade
from tests.support_metrics import TZ_NAME, Dataset, make_dataset, metrics_calendar, write_dataset

PG_URL = os.environ.get("TICKETBOT_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/")
FIRST = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
PERIOD = m.Period(2026, 2)
# 1 opened + 6 comments + 2.85 status events on average (the seeded walk's mean).
EVENTS_PER_TICKET = 9.85
RUNS = 3


def dataset(events: int) -> Dataset:
    tickets = round(events / EVENTS_PER_TICKET)
    return make_dataset(seed=2026, tickets=tickets, dialogs=tickets, first=FIRST, now=NOW,
                        extra_events=6)


async def _seed(engine: AsyncEngine, data: Dataset) -> tuple[int, float]:
    await upgrade(engine.url.render_as_string(hide_password=False))
    started = time.perf_counter()
    await write_dataset(engine, data)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
        count = (await conn.execute(select(func.count()).select_from(t.events))).scalar_one()
    return int(count), time.perf_counter() - started


async def _time(engine: AsyncEngine, history: int) -> tuple[float, m.Report]:
    timings, report = [], None
    calendar = metrics_calendar()
    for _ in range(RUNS):
        started = time.perf_counter()
        report = await monthly_report(engine, PERIOD, timezone=TZ_NAME, calendar=calendar,
                                      now=NOW, history=history)
        timings.append(time.perf_counter() - started)
    assert report is not None
    return statistics.median(timings), report


async def measure(label: str, url: str, data: Dataset) -> None:
    engine = make_engine(url)
    try:
        count, seeded = await _seed(engine, data)
        full, report = await _time(engine, 6)
        alone, _ = await _time(engine, 1)
    finally:
        await engine.dispose()
    line = report.total.second_line
    print(f"{label:<10} {count:>9,} events (seeded in {seeded:5.1f} s)  "
          f"report with 6 months {full:5.2f} s  month alone {alone:5.2f} s  "
          f"[{line.opened} opened, {line.closed} closed, {line.open_at_end} open, "
          f"{report.total.first_line.dialogs} dialogs]")


async def _pg(data: Dataset) -> None:
    async with scratch_pg(PG_URL) as url:
        await measure("postgresql", url, data)


async def main(events: int, sqlite_only: bool) -> None:
    started = time.perf_counter()
    data = dataset(events)
    print(f"dataset: {len(data.tickets):,} tickets, {len(data.dialogs):,} dialogs, "
          f"{len(data.ratings):,} ratings over 24 months, built in "
          f"{time.perf_counter() - started:.1f} s; reporting {PERIOD}")
    with tempfile.TemporaryDirectory() as tmp:
        await measure("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", data)
    if not sqlite_only:
        await _pg(data)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.sqlite_only))
