"""A seeded directory loaded from CSV files, as `ticketbot directory import` loads it
(every row checked, matched by its natural key, written in bulk, one engine command per
file), on SQLite and on PostgreSQL; beside it in the same run, the baseline: a bare `csv`
parse and an executemany INSERT of the same rows into the same tables (references looked
up in dicts, nothing checked). Then the same files again, which must change nothing.

Run from the project root: .venv/bin/python -m bench.directory_import [--pg URL]
[--contacts N] (objects N/2, equipment N*4/3, companies N/15).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.pgscratch import scratch_pg
from bot.bootstrap import bootstrap
from bot.directory_cli import read_csv
from config.settings import EmailConfig, Settings, with_sla
from engine import commands as c
from engine.directory import PersonSpec
from engine.directory_import import COLUMNS
from engine.events import DirectoryImported
from engine.store import tables as t

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
STAFF = tuple(PersonSpec(f"Staff {i}", "specialist", (f"s{i}@desk.example",))
              for i in range(10))
ORDER = ("companies", "contacts", "objects", "equipment")


def directory(contacts: int, seed: int = 7) -> dict[str, str]:
    """CSV texts of each directory: companies with domains, contacts at their company's
    domain (a fifth with two addresses, half with a phone), objects and equipment on them."""
    rng = random.Random(seed)
    n_companies = max(contacts // 15, 1)
    rows: dict[str, list[dict[str, str]]] = {k: [] for k in ORDER}
    for i in range(n_companies):
        rows["companies"].append({"name": f"Company {i}", "domains": f"c{i}.example",
                                  "manager": f"s{i % len(STAFF)}@desk.example"})
    for i in range(contacts):
        home = i % n_companies
        emails = f"p{i}@c{home}.example" + (f" p{i}.alt@c{home}.example" if i % 5 == 0 else "")
        rows["contacts"].append({
            "name": f"Person {i}", "emails": emails, "company": f"Company {home}",
            "phone": f"+7 495 {rng.randrange(10**7):07d}" if i % 2 else "",
            "language": "ru" if i % 3 == 0 else "en",
            "manager": f"s{i % len(STAFF)}@desk.example" if i % 4 == 0 else ""})
    for i in range(contacts // 2):
        rows["objects"].append({"name": f"Site {i}", "company": f"Company {i % n_companies}",
                                "address": f"{rng.randrange(1, 200)} Main St, town {i}",
                                "manager": ""})
    for i in range(contacts * 4 // 3):
        site = rng.randrange(contacts // 2)
        rows["equipment"].append({"serial": f"SN-{i:07d}", "model": f"Model {i % 40}",
                                  "company": f"Company {site % n_companies}",
                                  "object": f"Site {site}", "manager": ""})
    texts = {}
    for kind, found in rows.items():
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS[kind]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(found)
        texts[kind] = out.getvalue()
    return texts


async def ours(url: str, texts: dict[str, str]) -> tuple[float, float, int]:
    """Seconds for the import, seconds for importing again, rows."""
    settings = with_sla(Settings(database_url=url, people=STAFF,
                                 email=EmailConfig(listen_port=None)))
    app = await bootstrap(settings)
    try:
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            total, changed = 0, 0
            for kind in ORDER:
                _, rows = read_csv(texts[kind])
                outcome = await app.bus.handle(c.ImportDirectory(
                    actor=None, channel="cli", kind=kind,
                    rows=tuple(c.DirectoryRow(line, tuple(v.items())) for line, v in rows)))
                (report,) = outcome.desk_events
                assert isinstance(report, DirectoryImported) and not report.refused
                total += report.added + report.updated + report.unchanged
                changed += report.added + report.updated
            times.append(time.perf_counter() - t0)
            assert changed == (total if len(times) == 1 else 0)
    finally:
        await app.close()
    return times[0], times[1], total


async def baseline(url: str, texts: dict[str, str]) -> float:
    """csv.DictReader and one executemany INSERT per table, ids from dicts."""
    settings = with_sla(Settings(database_url=url, people=STAFF,
                                 email=EmailConfig(listen_port=None)))
    app = await bootstrap(settings)
    try:
        t0 = time.perf_counter()
        await _bare_insert(app.db, texts)
        return time.perf_counter() - t0
    finally:
        await app.close()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def _bare_insert(db: AsyncEngine, texts: dict[str, str]) -> None:
    async with db.begin() as conn:
        staff: dict[str, int] = dict((await conn.execute(
            t.person_emails.select().with_only_columns(t.person_emails.c.address,
                                                       t.person_emails.c.person_id))).all())

        async def insert(table: Any, rows: list[dict[str, Any]]) -> list[int]:
            result = await conn.execute(table.insert().returning(
                table.c.id, sort_by_parameter_order=True), rows)
            return [r[0] for r in result]

        def manager(row: dict[str, str]) -> int | None:
            return staff.get(row["manager"]) if row["manager"] else None

        companies = _rows(texts["companies"])
        ids = dict(zip((r["name"] for r in companies), await insert(t.companies, [
            {"name": r["name"], "domains": r["domains"], "manager_id": manager(r)}
            for r in companies]), strict=True))
        contacts = _rows(texts["contacts"])
        people = await insert(t.people, [
            {"name": r["name"], "role": "client", "company_id": ids[r["company"]],
             "phone": r["phone"] or None, "language": r["language"], "manager_id": manager(r)}
            for r in contacts])
        await conn.execute(t.person_emails.insert(), [
            {"address": a, "person_id": p, "position": n}
            for p, r in zip(people, contacts, strict=True)
            for n, a in enumerate(r["emails"].split())])
        objects = _rows(texts["objects"])
        places = dict(zip(((r["company"], r["name"]) for r in objects), await insert(
            t.service_objects, [{"name": r["name"], "company_id": ids[r["company"]],
                                 "address": r["address"]} for r in objects]), strict=True))
        await insert(t.equipment, [
            {"serial": r["serial"], "model": r["model"], "company_id": ids[r["company"]],
             "object_id": places[(r["company"], r["object"])]}
            for r in _rows(texts["equipment"])])


async def measure(label: str, fresh: Callable[[], Any], texts: dict[str, str]) -> None:
    async with fresh() as url:
        first, again, rows = await ours(url, texts)
    async with fresh() as url:
        bare = await baseline(url, texts)
    print(f"{label:<10} {rows:>6,} rows: import {first:5.2f} s = {rows / first:7,.0f} rows/s, "
          f"again (unchanged) {again:5.2f} s = {rows / again:7,.0f} rows/s; baseline (csv + "
          f"executemany) {bare:5.2f} s = {rows / bare:7,.0f} rows/s; ours/baseline time "
          f"{first / bare:4.1f}x")


class _SqliteFile:
    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory()

    async def __aenter__(self) -> str:
        return f"sqlite+aiosqlite:///{Path(self._dir.name) / 'bench.db'}"

    async def __aexit__(self, *exc: object) -> None:
        self._dir.cleanup()


async def main(pg: str, contacts: int) -> None:
    texts = directory(contacts)
    await measure("SQLite", _SqliteFile, texts)
    await measure("PostgreSQL", lambda: scratch_pg(pg), texts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server (any database)")
    parser.add_argument("--contacts", type=int, default=3000)
    args = parser.parse_args()
    asyncio.run(main(args.pg, args.contacts))
