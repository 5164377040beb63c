"""Tickets opened per second through the service's bus (built by `bot.bootstrap`, every
reactor on) and the SQL store, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.store [--tickets 400] [--pg postgresql+asyncpg://...]

Each run uses a fresh database (a temp SQLite file; a scratch PostgreSQL database that is
dropped afterwards). PostgreSQL is skipped when the server cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bench.pgscratch import scratch_pg
from bot.bootstrap import bootstrap
from config.settings import Settings
from engine.bus import MessageBus
from engine.commands import OpenTicket
from engine.directory import PersonSpec

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


BENCH = PersonSpec("Bench", "client", ("bench@example.com",))


async def opened_per_second(url: str, tickets: int, tasks: int, *, bare: bool) -> float:
    """Through the service's own bus (every reactor: notifications, SLA, ratings), or, as
    the baseline, a bus on the same store with no reactor at all."""
    app = await bootstrap(Settings(database_url=url, secret="bench", people=(BENCH,)),
                          clock=Clock())
    bus = MessageBus(app.uow, app.bus.clock, app.settings.engine) if bare else app.bus
    try:
        async with app.views.reading() as r:
            person = await r.people.by_email(BENCH.emails[0])
        assert person is not None
        actor = person.id

        async def worker(count: int) -> None:
            for i in range(count):
                await bus.handle(OpenTicket(actor=actor, channel="email", subject=f"#{i}",
                                                description="bench"))

        start = time.perf_counter()
        await asyncio.gather(*(worker(tickets // tasks) for _ in range(tasks)))
        return (tickets // tasks * tasks) / (time.perf_counter() - start)
    finally:
        await app.close()


async def main(tickets: int, pg_url: str) -> None:
    for tasks in (1, 8):
        for bare in (False, True):
            what = "bare bus" if bare else "service"
            with tempfile.TemporaryDirectory() as tmp:
                rate = await opened_per_second(f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}",
                                               tickets, tasks, bare=bare)
            print(f"sqlite     {what:<8} {tasks} task(s): {rate:7.0f} tickets/s")
            try:
                async with scratch_pg(pg_url) as url:
                    rate = await opened_per_second(url, tickets, tasks, bare=bare)
                print(f"postgresql {what:<8} {tasks} task(s): {rate:7.0f} tickets/s")
            except (OSError, SQLAlchemyError) as exc:
                print(f"postgresql skipped: {exc}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=400)
    parser.add_argument("--pg", default=PG_URL)
    args = parser.parse_args()
    asyncio.run(main(args.tickets, args.pg))
