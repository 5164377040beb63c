"""Sending acknowledgements as a user runs it, beside a bare SMTP loop in the same run.

    .venv/bin/python -m bench.send [-n 3000] [--runs 3]

1. N requests from N different clients are opened through the service's bus (every
   reactor on, SQLite): N acknowledgements wait in the outbox (not timed).
2. `ticketbot --config X mail send --once` runs as its own process, as cron runs it, and
   hands the acks to a local aiosmtpd relay (in this process, on the other core). Timed
   from the process's start to its exit: start-up included.
3. The baseline, in the same run: a plain aiosmtplib loop, also its own process, sending
   the very mails the relay received from ticketbot (already rendered: no database, no
   rendering) over one connection to the same relay, timed the same way.
4. The queue is rebuilt (a copy of the database made before step 2) for each of `--runs`
   runs; printed: acks/s of each, their ratio, CPU per mail of each process (start-up
   included), and the start-up of `mail send --once` on an empty queue.

Python files are byte-compiled first, as `pip install` does: a checkout run with
PYTHONDONTWRITEBYTECODE would otherwise compile every module in every process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench.cron_loop import ROOT, TICKETBOT, Relay, byte_compile, start_relay

SUPPORT = "support@help.example.com"
CHILD_CPU = resource.RUSAGE_CHILDREN


def write_config(work: Path, relay_port: int) -> Path:
    conf = work / "ticketbot.toml"
    conf.write_text(textwrap.dedent(f"""\
        [service]
        database_url = "sqlite+aiosqlite:///{work}/ticketbot.db"
        [email]
        address = "{SUPPORT}"
        [email.smtp_intake]
        enabled = false
        [email.smtp]
        host = "127.0.0.1"
        port = {relay_port}
        tls = "none"
        [telegram]
        enabled = false
        """))
    return conf


async def queue_acks(conf: Path, n: int) -> None:
    """N tickets of N new clients, each with its ack in the outbox."""
    import tomllib

    from bot.bootstrap import bootstrap
    from config.settings import from_mapping
    from engine.commands import OpenTicket, RegisterContact

    settings = from_mapping(tomllib.loads(conf.read_text()), {"TICKETBOT_SECRET": "bench"})
    app = await bootstrap(settings)
    try:
        for i in range(n):
            who = await app.bus.handle(RegisterContact(
                actor=None, channel="email", name=f"Client {i}",
                address=f"client{i}@org{i % 97}.example"))
            await app.bus.handle(OpenTicket(
                actor=who.contact, channel="email", subject=f"Printer jams {i}",
                description="The printer on the third floor jams on every second page.",
                source_ref=f"<bench-send.{i}@client.example>"))
        pending = await app.outbox.pending_count("email")
    finally:
        await app.close()
    if pending != n:
        raise SystemExit(f"expected {n} acks queued, found {pending}")


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one process, and what it printed."""
    c0 = resource.getrusage(CHILD_CPU)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(CHILD_CPU)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stdout}{out.stderr}")
    cpu = c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime
    return wall, cpu, out.stdout


# ------------------------------------------------------------------ the bare loop

async def bare_loop(folder: Path, port: int) -> None:
    """The baseline: each mail as the relay got it, over one aiosmtplib connection."""
    import aiosmtplib

    mails = [(p.read_bytes(), p.name.split("_", 1)[1]) for p in sorted(folder.iterdir())]
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30) as smtp:
        for raw, to in mails:
            await smtp.sendmail(SUPPORT, [to], raw)


# ------------------------------------------------------------------ the run

def one_run(conf: Path, db: Path, queued: Path, relay: Relay, port: int, n: int,
            env: dict[str, str], work: Path) -> tuple[float, float, float, float]:
    shutil.copy(queued, db)
    for extra in ("-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    before = relay.count()
    wall, cpu, _ = timed([str(TICKETBOT), "--config", str(conf), "mail", "send", "--once"], env)
    got = relay.received[before:]
    if len(got) != n:
        raise SystemExit(f"ticketbot handed {len(got)} acks to the relay, expected {n}")
    folder = work / "mails"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for k, raw in enumerate(got):
        to = f"client{k}@bare.example"
        (folder / f"{k:06d}_{to}").write_bytes(raw)
    before = relay.count()
    bare_wall, bare_cpu, _ = timed([sys.executable, "-m", "bench.send", "--bare", str(folder),
                             str(port)], env)
    if relay.count() - before != n:
        raise SystemExit("the bare loop did not hand every mail to the relay")
    return wall, cpu, bare_wall, bare_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3000, help="acks queued (default 3000)")
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--bare", nargs=2, metavar=("FOLDER", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        asyncio.run(bare_loop(Path(args.bare[0]), int(args.bare[1])))
        return
    if not TICKETBOT.exists():
        raise SystemExit(f"{TICKETBOT} is missing: install the project in .venv first")
    byte_compile()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"Python {sys.version.split()[0]}")
    relay, ctl, port = start_relay()
    work = Path(tempfile.mkdtemp(prefix="ticketbot-send-", dir="/tmp"))
    env = {**os.environ, "TICKETBOT_SECRET": "bench"}
    try:
        conf = write_config(work, port)
        db = work / "ticketbot.db"
        t0 = time.perf_counter()
        asyncio.run(queue_acks(conf, args.n))
        queued = work / "queued.db"
        shutil.copy(db, queued)
        print(f"{args.n} acks queued ({time.perf_counter() - t0:.1f} s, not timed)")
        ours, cpus, bare, bare_cpus = [], [], [], []
        for r in range(args.runs):
            wall, cpu, bare_wall, bare_cpu = one_run(conf, db, queued, relay, port, args.n,
                                                     env, work)
            ours.append(args.n / wall)
            cpus.append(cpu)
            bare.append(args.n / bare_wall)
            bare_cpus.append(bare_cpu)
            print(f"  run {r + 1}: ticketbot {wall:.2f} s ({args.n / wall:,.0f} acks/s, "
                  f"CPU {cpu:.2f} s), bare aiosmtplib loop {bare_wall:.2f} s "
                  f"({args.n / bare_wall:,.0f} mails/s)")
        empty = [timed([str(TICKETBOT), "--config", str(conf), "mail", "send", "--once"],
                       env)[0] for _ in range(3)]
        print()
        print(f"`mail send --once`, {args.n} acks, start-up included: "
              f"{statistics.median(ours):,.0f} acks/s (runs: "
              f"{', '.join(f'{x:,.0f}' for x in ours)}); "
              f"CPU {statistics.median(cpus) / args.n * 1000:.2f} ms per ack")
        print(f"bare aiosmtplib loop, same mails, same relay: {statistics.median(bare):,.0f} "
              f"mails/s (runs: {', '.join(f'{x:,.0f}' for x in bare)}); CPU "
              f"{statistics.median(bare_cpus) / args.n * 1000:.2f} ms per mail")
        print(f"ratio ticketbot / bare: {statistics.median(ours) / statistics.median(bare):.2f}"
              f"; `mail send --once` on an empty queue: {statistics.median(empty):.2f} s")
    finally:
        ctl.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
