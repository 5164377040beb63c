"""Where file bytes live: database size and import speed, this tree beside main's.

    .venv/bin/python -m bench.files_store [-n 2000] [--pg URL] [--baseline REV]

The corpus is cron_loop's mix (`bench.cron_loop.new_mail`: 0.3-30 KB text, a quarter with
HTML, a third Russian, 1 in 14 with a 50-300 KB PDF), and the same mails again with one
signature logo (a 9 KB PNG, the same bytes) in every mail: what a real desk gets. Each
mail is stored raw (the intake's `raw.keep`) and processed into tickets with every reactor
on (`MailIntake.drain`), in a child process per variant and database:

  main      the code of REV (default: the main branch as it is; a `git worktree` made
            under /tmp): the file's bytes in its attachment row, beside the raw mail
  copy      this tree with the bytes deduplicated in `blobs` (one row per sha256), still
            beside the raw mail (`files_sql.COPY_MAILED_BYTES`)
  raw-ref   this tree as it runs: a mailed file's blob names the raw mail that holds it,
            no second copy

Printed per variant: import CPU per mail (this process and its parse worker; the
machine is shared, so CPU moves less than wall time) and mails/s (store + process),
the database's size (SQLite: the
file after a WAL checkpoint; PostgreSQL: pg_database_size minus an empty migrated one),
reading every ticket's comments (what rendering does), and, for this tree, fetching
each file's bytes by id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "main"  # resolved to its commit when the run starts
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def _logo() -> bytes:
    """A small PNG-signed image, the same in every mail."""
    rng = random.Random(99)
    return b"\x89PNG\r\n\x1a\n" + rng.randbytes(9000)


def corpus(n: int, logo: bool) -> list[bytes]:
    from email import message_from_bytes

    from bench.cron_loop import new_mail

    rng = random.Random(15)
    mails = [new_mail(rng, i, "fs") for i in range(n)]
    if not logo:
        return mails
    out = []
    image = _logo()
    for raw in mails:
        m = message_from_bytes(raw, _class=EmailMessage, policy=SMTP_POLICY)
        assert isinstance(m, EmailMessage)
        if not m.is_multipart():
            m.make_mixed()
        m.add_attachment(image, maintype="image", subtype="png", filename="logo.png")
        out.append(m.as_bytes())
    return out


# ------------------------------------------------------------------ the child (any tree)

async def child(url: str, path: Path, copy: bool) -> dict[str, Any]:
    """Runs with the tree under test first on sys.path (main's code, or this one)."""
    import datetime as dt

    from sqlalchemy import text

    from bot.bootstrap import bootstrap
    from bot.channels.email.act.intake import MailIntake
    from bot.channels.email.receive import raw as rawmail
    from config.settings import EmailConfig, Settings, with_sla

    mails: list[bytes] = pickle.loads(path.read_bytes())
    if copy:
        from engine.store import files_sql
        files_sql.COPY_MAILED_BYTES = True  # type: ignore[attr-defined]
    settings = with_sla(Settings(database_url=url, secret="bench", email=EmailConfig(
        address="support@help.example.com", listen_port=None)))
    rt = await bootstrap(settings)
    empty = await _size(rt.db, url)
    now = dt.datetime(2026, 12, 4, 10, tzinfo=dt.UTC)
    cpu0 = _cpu()
    t0 = time.perf_counter()
    for raw in mails:
        await rawmail.keep(rt.inbound, raw, now)
    t1 = time.perf_counter()
    done = await MailIntake(rt).drain()
    t2 = time.perf_counter()
    cpu_self = _cpu(resource.RUSAGE_SELF) - cpu0[0]
    async with rt.db.connect() as conn:
        tickets = [n for (n,) in await conn.execute(text(
            "SELECT DISTINCT ticket FROM attachments ORDER BY ticket"))]
        ids = [i for (i,) in await conn.execute(text(
            "SELECT id FROM attachments WHERE content_type = 'application/pdf'"))]
    t3 = time.perf_counter()
    async with rt.views.reading() as r:
        for n in tickets:
            await r.comments.for_ticket(n)
    t4 = time.perf_counter()
    fetch = getattr(rt.views, "attachment_bytes", None)
    fetched = 0
    if fetch is not None:
        for i in ids:
            fetched += len(await fetch(i) or b"")
    t5 = time.perf_counter()
    size = await _size(rt.db, url) - empty
    await rt.close()
    # The parse worker (mails from 32 KB) is a child process, counted once it has ended.
    cpu = cpu_self + _cpu(resource.RUSAGE_CHILDREN) - cpu0[1]
    if not url.startswith("postgresql"):
        size = _file_size(url)
    return {"mails": len(mails), "processed": done, "store_s": t1 - t0, "process_s": t2 - t1,
            "read_ms": (t4 - t3) * 1000 / max(1, len(tickets)), "tickets_with_files":
            len(tickets), "fetch_ms": (t5 - t4) * 1000 / max(1, len(ids)) if fetch else None,
            "fetched": fetched, "size": size, "cpu_ms": cpu * 1000 / len(mails), "code": sys.modules["bot"].__file__}


def _cpu(who: int | None = None) -> Any:
    """CPU seconds (user + system) of this process or its ended children; both if None.
    The machine is shared: CPU per mail moves far less with the load than mails/s."""
    if who is None:
        return _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    use = resource.getrusage(who)
    return use.ru_utime + use.ru_stime


async def _size(db: Any, url: str) -> int:
    """PostgreSQL: the database's size (an empty migrated one is subtracted by the
    caller); SQLite: 0 here, the file is measured once the application is closed."""
    from sqlalchemy import text

    if not url.startswith("postgresql"):
        return 0
    async with db.connect() as conn:
        return int((await conn.execute(
            text("SELECT pg_database_size(current_database())"))).scalar_one())


def _file_size(url: str) -> int:
    import sqlite3

    file = Path(url.split("///", 1)[1])
    with sqlite3.connect(file) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in file.parent.glob(file.name + "*"))


# ------------------------------------------------------------------ the parent

def _commit(rev: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True,
                          capture_output=True, text=True).stdout.strip()


def _baseline_tree(rev: str) -> Path:
    tree = Path(tempfile.gettempdir()) / f"ticketbot-files-baseline-{rev}"
    if not tree.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                       check=True, capture_output=True)
    return tree


def _run(tree: Path, url: str, corpus_file: Path, copy: bool) -> dict[str, Any]:
    code = (f"import sys; sys.path.insert(0, {str(tree)!r})\n"
            "import asyncio, importlib.util, json, pathlib\n"
            f"spec = importlib.util.spec_from_file_location('files_bench', {__file__!r})\n"
            "bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)\n"
            f"print(json.dumps(asyncio.run(bench.child({url!r}, "
            f"pathlib.Path({str(corpus_file)!r}), {copy!r}))))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOT_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, env=env, cwd=tempfile.gettempdir())
    if out.returncode:
        raise SystemExit(f"{tree}: the child failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(tree: Path, db: str, corpus_file: Path, copy: bool, work: Path,
            pg: str) -> dict[str, Any]:
    if db == "sqlite":
        file = work / f"{os.urandom(4).hex()}.db"
        return _run(tree, f"sqlite+aiosqlite:///{file}", corpus_file, copy)

    async def on_pg() -> dict[str, Any]:
        from bench.pgscratch import scratch_pg

        async with scratch_pg(pg) as url:
            return await asyncio.to_thread(_run, tree, url, corpus_file, copy)
    return asyncio.run(on_pg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--pg", default=PG, help="PostgreSQL server (a scratch database is made)")
    ap.add_argument("--baseline", default=BASELINE, help="main's revision to compare with")
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args()
    args.baseline = _commit(args.baseline)
    base = _baseline_tree(args.baseline)
    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="tb-files-") as tmp:
        work = Path(tmp)
        for logo in (False, True):
            mails = corpus(args.n, logo)
            corpus_file = work / "corpus.pickle"
            corpus_file.write_bytes(pickle.dumps(mails))
            raw_mb = sum(map(len, mails)) / 1e6
            label = "mix + the same 9 KB logo in every mail" if logo else "cron_loop's mix"
            print(f"\n{args.n} mails, {label}: {raw_mb:.1f} MB raw")
            for db in dbs:
                rows = [("main " + args.baseline, measure(base, db, corpus_file, False, work,
                                                          args.pg)),
                        ("copy (dedup)", measure(ROOT, db, corpus_file, True, work, args.pg)),
                        ("raw-ref", measure(ROOT, db, corpus_file, False, work, args.pg))]
                _report(db, rows)


def _report(db: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    main_size = rows[0][1]["size"]
    main_rate = rows[0][1]["mails"] / (rows[0][1]["store_s"] + rows[0][1]["process_s"])
    main_cpu = rows[0][1]["cpu_ms"]
    print(f"  {db}:")
    for name, r in rows:
        rate = r["mails"] / (r["store_s"] + r["process_s"])
        fetch = "" if r["fetch_ms"] is None else f", fetch a PDF by id {r['fetch_ms']:.1f} ms"
        print(f"    {name:<13} {r['size'] / 1e6:6.1f} MB ({r['size'] / main_size:4.2f}x main), "
              f"import CPU {r['cpu_ms']:5.1f} ms/mail ({r['cpu_ms'] / main_cpu:4.2f}x main), "
              f"{rate:4.0f} mails/s wall ({rate / main_rate:4.2f}x; store "
              f"{r['store_s']:.1f} s + process {r['process_s']:.1f} s), read a ticket "
              f"{r['read_ms']:.2f} ms{fetch}")


if __name__ == "__main__":
    main()
