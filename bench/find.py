"""`/find` over 100,000 tickets, on SQLite and on PostgreSQL, beside a LIKE scan.

Run from the project root: .venv/bin/python -m bench.find [--pg URL] [--tickets N]
PostgreSQL defaults to postgresql+asyncpg://postgres@127.0.0.1:5432 (a scratch database is
created and dropped).

The tickets are bulk-inserted (no engine round trips): a subject and three comments each,
Russian or English sentences drawn from a small vocabulary whose words come in several forms
and with Zipf-like frequencies, so some query words match a tenth of all tickets and some a
few dozen. The search rows are written as the store writes them (`stemmed`), in the same
bulk insert. Each query runs REPEAT times through `engine.store.search_sql.search` (ranked,
top 10, with snippets) as staff and as a client; the baseline is the same run's
`LIKE '%word%'` scan over subjects and comments for the query's first word (unranked, one
word form only, no snippet).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.pgscratch import scratch_pg
from engine.model import Person, Role, Status
from engine.stemming import stemmed
from engine.store.db import make_engine, reading
from engine.store.migrate import upgrade
from engine.store.search_sql import search
from engine.store.tables import comments, people, search_docs, tickets

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
T0 = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
CHUNK = 5000
REPEAT = 20
CLIENTS = 500  # the tickets' requesters; the client query runs as one of them

# Each inner tuple: the forms of one word. Earlier words are drawn more often (Zipf-like).
RU_WORDS = (
    ("принтер", "принтера", "принтеры", "принтером"), ("не", ), ("работает", "работают"),
    ("бумага", "бумаги", "бумагу"), ("почта", "почты", "почту"), ("пароль", "пароля"),
    ("сервер", "сервера", "серверы"), ("доступ", "доступа"), ("ошибка", "ошибки", "ошибку"),
    ("сеть", "сети"), ("монитор", "монитора"), ("договор", "договора"),
    ("сканер", "сканера"), ("счёт", "счета"), ("отчёт", "отчёта", "отчёты"),
    ("картридж", "картриджа"), ("лицензия", "лицензии"), ("телефон", "телефона"),
    ("коммутатор", "коммутатора"), ("бухгалтерия", "бухгалтерии"),
)
EN_WORDS = (
    ("the", ), ("printer", "printers"), ("does", ), ("not", ), ("work", "works", "working"),
    ("mail", "mails"), ("password", "passwords"), ("server", "servers"),
    ("access", "accessing"), ("error", "errors"), ("network", ), ("vpn", ),
    ("monitor", "monitors"), ("invoice", "invoices"), ("report", "reports", "reported"),
    ("licence", "licences"), ("phone", "phones"), ("switch", "switches"),
    ("cartridge", "cartridges"), ("backup", "backups"),
)
QUERIES = ("принтер", "принтеры бумагу", "коммутатора", "printers", "vpn password",
           "cartridge jammed", "бухгалтерия отчёт")


def _sentence(rng: random.Random, vocabulary: tuple[tuple[str, ...], ...], size: int) -> str:
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    picked = rng.choices(vocabulary, weights=weights, k=size)
    return " ".join(rng.choice(forms) for forms in picked).capitalize() + "."


def _rows(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(2026)
    found_tickets, found_comments, docs = [], [], []
    comment_id = 0
    for number in range(1, n + 1):
        vocabulary = RU_WORDS if number % 2 else EN_WORDS
        subject = _sentence(rng, vocabulary, rng.randint(3, 6))
        at = T0 + dt.timedelta(minutes=number)
        bodies = [_sentence(rng, vocabulary, rng.randint(8, 25)) for _ in range(3)]
        found_tickets.append({
            "number": number, "subject": subject, "description": bodies[0], "channel": "email",
            "status": Status.OPEN.value, "created_at": at, "updated_at": at, "type": "question",
            "priority": "normal", "cc": [], "requester_id": 2 + number % CLIENTS})
        docs.append({"ticket": number, "comment_id": None, "terms": stemmed(subject),
                     "public": True})
        for i, body in enumerate(bodies):
            comment_id += 1
            found_comments.append({"id": comment_id, "ticket": number, "body": body,
                                   "public": i != 2, "channel": "email", "created_at": at})
            docs.append({"ticket": number, "comment_id": comment_id, "terms": stemmed(body),
                         "public": i != 2})
    return found_tickets, found_comments, docs


async def _fill(engine: AsyncEngine, n: int) -> None:
    found_tickets, found_comments, docs = _rows(n)
    async with engine.begin() as conn:
        await conn.execute(people.insert(), [
            {"id": 1, "name": "Lena Lead", "role": Role.LEAD.value},
            *({"id": 2 + i, "name": f"Client {i}", "role": Role.CLIENT.value}
              for i in range(CLIENTS))])
        for table, rows in ((tickets, found_tickets), (comments, found_comments),
                            (search_docs, docs)):
            for start in range(0, len(rows), CHUNK):
                await conn.execute(table.insert(), rows[start:start + CHUNK])
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))
            await conn.commit()


async def _timed(engine: AsyncEngine, query: str, person: Person | None) -> tuple[float, int]:
    async with reading(engine) as conn:
        t0 = time.perf_counter()
        hits = await search(conn, query, person)
        return time.perf_counter() - t0, len(hits)


# Ranked like /find (by how many of the ticket's texts hold the word), so it reads every row.
_LIKE = text("SELECT ticket, count(*) AS n FROM (SELECT ticket FROM comments WHERE "
             "lower(body) LIKE :p UNION ALL SELECT number FROM tickets WHERE lower(subject) "
             "LIKE :p) found GROUP BY ticket ORDER BY n DESC, ticket DESC LIMIT 10")


async def _baseline(engine: AsyncEngine, query: str) -> float:
    async with reading(engine) as conn:
        t0 = time.perf_counter()
        await conn.execute(_LIKE, {"p": f"%{query.split()[0]}%"})
        return time.perf_counter() - t0


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"


async def _measure(label: str, url: str, n: int) -> None:
    await upgrade(url)
    engine = make_engine(url)
    client = Person(id=7, name="Client 5", role=Role.CLIENT)
    try:
        t0 = time.perf_counter()
        await _fill(engine, n)
        print(f"{label}: {n:,} tickets, {3 * n:,} comments seeded in "
              f"{time.perf_counter() - t0:.1f} s")
        staff: list[float] = []
        clients: list[float] = []
        like: list[float] = []
        for query in QUERIES:
            runs = [await _timed(engine, query, None) for _ in range(REPEAT)]
            mine = [await _timed(engine, query, client) for _ in range(REPEAT)]
            base = [await _baseline(engine, query) for _ in range(REPEAT)]
            staff += [r[0] for r in runs]
            clients += [r[0] for r in mine]
            like += base
            print(f"  {query!r:<22} /find staff {_ms([r[0] for r in runs])} "
                  f"({runs[0][1]} hits) | client {_ms([r[0] for r in mine])} | "
                  f"LIKE {_ms(base)}")
        ratio = statistics.median(like) / statistics.median(staff)
        print(f"  all queries: /find staff {_ms(staff)} | client {_ms(clients)} | "
              f"LIKE baseline {_ms(like)} | LIKE/find p50 = {ratio:.1f}x")
    finally:
        await engine.dispose()


async def main(pg: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await _measure("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", n)
    async with scratch_pg(pg) as url:
        await _measure("PostgreSQL", url, n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server (any database)")
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.pg, args.tickets))
