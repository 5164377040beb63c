"""Tickets opened per second through the real bus and SQL store, on SQLite and PostgreSQL.

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
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.pgscratch import scratch_pg
from engine.bus import MessageBus
from engine.commands import OpenTicket
from engine.model import Role
from engine.ports import NewPerson
from engine.settings import EngineSettings
from engine.store.db import make_engine
from engine.store.migrate import upgrade
from engine.store.uow import sql_uow_factory

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


async def _requester(db: AsyncEngine) -> int:
    async with sql_uow_factory(db)() as uow:
        person = await uow.people.add(NewPerson("Bench", Role.CLIENT, ("bench@example.com",)))
        await uow.commit()
    return person.id


async def opened_per_second(url: str, tickets: int, tasks: int) -> float:
    await upgrade(url)
    db = make_engine(url)
    try:
        actor = await _requester(db)
        bus = MessageBus(sql_uow_factory(db), Clock(), EngineSettings())

        async def worker(count: int) -> None:
            for i in range(count):
                await bus.handle(OpenTicket(actor=actor, channel="email", subject=f"#{i}",
                                            description="bench"))

        start = time.perf_counter()
        await asyncio.gather(*(worker(tickets // tasks) for _ in range(tasks)))
        return (tickets // tasks * tasks) / (time.perf_counter() - start)
    finally:
        await db.dispose()


async def main(tickets: int, pg_url: str) -> None:
    for tasks in (1, 8):
        with tempfile.TemporaryDirectory() as tmp:
            rate = await opened_per_second(f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}",
                                           tickets, tasks)
        print(f"sqlite     {tasks} task(s): {rate:7.0f} tickets/s")
        try:
            async with scratch_pg(pg_url) as url:
                rate = await opened_per_second(url, tickets, tasks)
            print(f"postgresql {tasks} task(s): {rate:7.0f} tickets/s")
        except (OSError, SQLAlchemyError) as exc:
            print(f"postgresql skipped: {exc}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=400)
    parser.add_argument("--pg", default=PG_URL)
    args = parser.parse_args()
    asyncio.run(main(args.tickets, args.pg))
