"""The fault campaign at a small scale, against real processes and servers. Run as root from
the project root (Dovecot drops privileges; PostgreSQL on 127.0.0.1:5432, user postgres):

    .venv/bin/python -m bench.faults [--scale 1.0] [--only KIND ...]

Each kind sends mail from new senders (one ticket and one acknowledgement expected each),
breaks something on the way, and then judges the database and what the relay (an aiosmtpd
in this process) received:

    lost        accepted (SMTP 250, or in the IMAP mailbox) but no ticket, or no ack
    duplicated  a second ticket for one Message-ID, or a second, different ack for one sender
    stuck       inbound rows still pending, outbox rows neither sent nor given up, at the end
    slowest     the longest time from acceptance to the ack at the relay
    stall       the longest event-loop stall (only where the service runs in this process)

An ack sent again with the same Message-ID (a kill -9 after the relay's 250 and before the
row is marked sent) is not another ack; the `copies` column counts them.

Kinds: smtp_kill, drain_kill, imap_kill, imap_restart, relay_down, mutated, workers_pg.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import logging
import random
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope
from sqlalchemy import func, select

from engine.store.db import make_engine
from engine.store.migrate import upgrade
from engine.store.tables import inbound, outbox, tickets
from tests.support_email import Dovecot, Sink, mail, running_dovecot
from tests.support_workers import LEADS, STARTED, WorkerProcess, send_one

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests/mail").glob("*.eml"))
SUPPORT = "support@help.example.com"


# ------------------------------------------------------------------ judging

@dataclass
class Result:
    kind: str
    mails: int
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    copies: int = 0
    slowest: float | None = None
    stall: float | None = None
    note: str = ""


@dataclass
class TimedSink(Sink):
    """The relay: every mail with the time it arrived; `down` answers 451 meanwhile."""

    times: list[float] = field(default_factory=list)
    down: bool = False

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        if self.down:
            return "451 4.3.0 relay down"
        self.times.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)

    def acks(self) -> dict[str, list[tuple[str, float]]]:
        """Per recipient: (Message-ID, arrival) of every copy."""
        found: dict[str, list[tuple[str, float]]] = collections.defaultdict(list)
        for m, at in zip(self.messages(), self.times, strict=True):
            found[str(m["To"]).strip("<>").lower()].append((str(m["Message-ID"]), at))
        return found


@contextlib.asynccontextmanager
async def relay() -> AsyncIterator[TimedSink]:
    sink = TimedSink()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(sink), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


async def _counts(url: str) -> tuple[int, int]:
    db = make_engine(url)
    try:
        async with db.connect() as conn:
            pending = (await conn.execute(select(func.count()).select_from(inbound).where(
                inbound.c.status == "pending"))).scalar_one()
            unsent = (await conn.execute(select(func.count()).select_from(outbox).where(
                outbox.c.channel == "email", outbox.c.sent_at.is_(None),
                outbox.c.failed_at.is_(None)))).scalar_one()
    finally:
        await db.dispose()
    return int(pending), int(unsent)


async def settle(url: str, sink: TimedSink, senders: list[str], timeout: float) -> None:
    """Until every sender has an ack and nothing waits, or `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending, unsent = await _counts(url)
        acks = sink.acks()
        if not pending and not unsent and all(s in acks for s in senders):
            return
        await asyncio.sleep(0.25)


async def judge(kind: str, url: str, sink: TimedSink,
                accepted: dict[str, tuple[str, float]], note: str = "") -> Result:
    """`accepted`: Message-ID -> (sender, when it was accepted)."""
    db = make_engine(url)
    try:
        async with db.connect() as conn:
            per_ref = collections.Counter((await conn.execute(
                select(tickets.c.source_ref))).scalars())
    finally:
        await db.dispose()
    pending, unsent = await _counts(url)
    acks = sink.acks()
    result = Result(kind, len(accepted), stuck=pending + unsent, note=note)
    slowest = 0.0
    for ref, (sender, at) in accepted.items():
        got = acks.get(sender, [])
        if not per_ref.get(ref) or not got:
            result.lost += 1
        if per_ref.get(ref, 0) > 1 or len({mid for mid, _ in got}) > 1:
            result.duplicated += 1
        result.copies += max(0, len(got) - len({mid for mid, _ in got}))
        if got:
            slowest = max(slowest, min(t for _, t in got) - at)
    result.slowest = slowest
    return result


def new_mail(i: int, tag: str) -> tuple[str, str, bytes]:
    sender = f"{tag}{i}@client{i}.example"
    ref = f"<{tag}{i}@client.example>"
    return sender, ref, mail(sender=sender, subject=f"Question {tag} {i}", message_id=ref,
                             body=f"Mail {i} of the {tag} run.")


# ------------------------------------------------------------------ databases

@contextlib.asynccontextmanager
async def sqlite_db() -> AsyncIterator[tuple[str, Path]]:
    with tempfile.TemporaryDirectory(prefix="tb-faults-") as d:
        url = f"sqlite+aiosqlite:///{d}/faults.db"
        await upgrade(url)
        yield url, Path(d)


@contextlib.asynccontextmanager
async def pg_db() -> AsyncIterator[tuple[str, Path]]:
    from tests.conftest import _pg_database

    with tempfile.TemporaryDirectory(prefix="tb-faults-") as d:
        async with _pg_database() as url:
            await upgrade(url)
            yield url, Path(d)


# ------------------------------------------------------------------ kill -9 kinds

async def _send_all(ports: list[int], batch: list[tuple[str, str, bytes]],
                    accepted: dict[str, tuple[str, float]], parallel: int = 8) -> None:
    gate = asyncio.Semaphore(parallel)

    async def one(i: int, sender: str, ref: str, raw: bytes) -> None:
        async with gate:
            await send_one(ports[i % len(ports):] + ports[:i % len(ports)], sender, raw)
            accepted[ref] = (sender, time.monotonic())

    await asyncio.gather(*[one(i, *m) for i, m in enumerate(batch)])


async def _when(check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def _inbound_count(url: str) -> int:
    db = make_engine(url)
    try:
        async with db.connect() as conn:
            return int((await conn.execute(
                select(func.count()).select_from(inbound))).scalar_one())
    finally:
        await db.dispose()


async def smtp_kill(n: int) -> Result:
    """kill -9 while mails arrive over SMTP; restarted; the senders retry what was refused."""
    async with sqlite_db() as (url, d), relay() as sink:
        worker = WorkerProcess("w", url, d, relay=sink.port)
        await worker.start()
        await worker.wait_for(STARTED)
        mails = [new_mail(i, "smtp") for i in range(n)]
        accepted: dict[str, tuple[str, float]] = {}
        sending = asyncio.create_task(_send_all([worker.port], mails, accepted))
        await _when(lambda: _ready(len(accepted) >= n // 3))
        await worker.kill9()
        killed_at = len(accepted)
        await worker.start()
        await sending
        await settle(url, sink, [s for s, _, _ in mails], 120)
        await worker.stop()
        return await judge("smtp_kill", url, sink, accepted,
                           f"killed after {killed_at} accepted")


async def _ready(value: bool) -> bool:
    return value


async def drain_kill(n: int) -> Result:
    """kill -9 while the outbox is being sent; restarted (the stopped process's leases are
    released at start: SQLite has one process)."""
    async with sqlite_db() as (url, d), relay() as sink:
        worker = WorkerProcess("w", url, d, relay=sink.port)
        await worker.start()
        await worker.wait_for(STARTED)
        mails = [new_mail(i, "drain") for i in range(n)]
        accepted: dict[str, tuple[str, float]] = {}
        await _send_all([worker.port], mails, accepted)
        await _when(lambda: _ready(len(sink.received) >= n // 3))
        await worker.kill9()
        sent_at_kill = len(sink.received)
        await worker.start()
        await settle(url, sink, [s for s, _, _ in mails], 120)
        await worker.stop()
        return await judge("drain_kill", url, sink, accepted,
                           f"killed after {sent_at_kill} acks sent")


def _imap_config(dv: Dovecot, user: str) -> str:
    return (f'\n[email.imap]\nhost = "127.0.0.1"\nport = {dv.imap_port}\nuser = "{user}"\n'
            f'password = "secret"\ntls = "none"\n')


async def imap_kill(n: int, dv: Dovecot) -> Result:
    """kill -9 during an IMAP import of `n` unread mails; restarted."""
    async with sqlite_db() as (url, d), relay() as sink:
        user = dv.new_user()
        mails = [new_mail(i, "imap") for i in range(n)]
        await asyncio.to_thread(dv.deliver_lmtp, user, [raw for _, _, raw in mails])
        began = time.monotonic()
        accepted = {ref: (sender, began) for sender, ref, _ in mails}
        worker = WorkerProcess("w", url, d, relay=sink.port, extra=_imap_config(dv, user))
        await worker.start()
        await _when(lambda: _bigger(url, n // 3), timeout=120)
        await worker.kill9()
        stored = await _inbound_count(url)
        await worker.start()
        await settle(url, sink, [s for s, _, _ in mails], 180)
        await worker.stop()
        unread = (await dv.status(user, "unseen")).get("unseen")
        return await judge("imap_kill", url, sink, accepted,
                           f"killed after {stored} stored; unread left {unread}")


async def _bigger(url: str, count: int) -> bool:
    return await _inbound_count(url) >= count


async def imap_restart(n: int, dv: Dovecot, outage: float) -> Result:
    """Dovecot stopped under IDLE for `outage` seconds and started again; mail delivered
    right after its return must be acknowledged within seconds."""
    async with sqlite_db() as (url, d), relay() as sink:
        user = dv.new_user()
        worker = WorkerProcess("w", url, d, relay=sink.port, extra=_imap_config(dv, user))
        await worker.start()
        await worker.wait_for("started email-imap")
        first = new_mail(0, "idle")
        await dv.deliver(user, first[2])
        accepted = {first[1]: (first[0], time.monotonic())}
        await settle(url, sink, [first[0]], 30)
        pid = int((dv.dir / "run/master.pid").read_text())
        subprocess.run(["kill", "-TERM", str(pid)], check=True)
        await asyncio.sleep(outage)
        await asyncio.to_thread(subprocess.run, ["dovecot", "-c", dv.conf], check=True)
        mails = [new_mail(i, "idle") for i in range(1, n + 1)]
        for sender, ref, raw in mails:
            await dv.deliver(user, raw)
            accepted[ref] = (sender, time.monotonic())
        await settle(url, sink, [s for s, _, _ in mails], 120)
        await worker.stop()
        return await judge("imap_restart", url, sink, accepted,
                           f"Dovecot down {outage:.0f} s")


async def workers_pg(n: int) -> Result:
    """Two workers on one PostgreSQL, `n` new senders through both SMTP intakes, the leader
    killed mid-run: the follower must lead within seconds."""
    async with pg_db() as (url, d), relay() as sink:
        first = WorkerProcess("first", url, d, relay=sink.port)
        second = WorkerProcess("second", url, d, relay=sink.port)
        await first.start()
        await first.wait_for(LEADS)
        await second.start()
        await second.wait_for(STARTED)
        await first.wait_for(STARTED)
        mails = [new_mail(i, "pg") for i in range(n)]
        accepted: dict[str, tuple[str, float]] = {}
        sending = asyncio.create_task(_send_all([first.port, second.port], mails, accepted))
        await _when(lambda: _ready(len(accepted) >= n // 2))
        await first.kill9()
        took = await second.wait_for(LEADS, timeout=30)
        await sending
        await settle(url, sink, [s for s, _, _ in mails], 420)
        await second.stop()
        return await judge("workers_pg", url, sink, accepted,
                           f"follower led {took:.1f} s after the kill")


# ------------------------------------------------------------------ in-process kinds

class LoopWatch:
    """The longest time the event loop was late for a 10 ms tick."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            began = time.monotonic()
            await asyncio.sleep(0.01)
            self.longest = max(self.longest, time.monotonic() - began - 0.01)

    def __enter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def relay_down(n: int) -> Result:
    """The relay refuses every mail for 75 minutes (longer than the hour of the automatic
    mail cap), on the test clock; five mails from each sender; then it is back."""
    from bot.bootstrap import bootstrap
    from bot.channels.email.act.intake import MailIntake
    from bot.channels.email.deliver.sender import MailSender
    from bot.channels.email.receive import raw as mailraw
    from tests.fakes import FixedClock
    from tests.support_email import SECRET, settings_for

    async with sqlite_db() as (url, _), relay() as sink:
        clock = FixedClock()
        rt = await bootstrap(settings_for(url), clock=clock, secret=SECRET)
        senders = [f"down{i}@client{i}.example" for i in range(max(1, n // 5))]
        refs: dict[str, tuple[str, float]] = {}
        for k in range(5):
            for i, sender in enumerate(senders):
                ref = f"<down{i}.{k}@client.example>"
                await mailraw.keep(rt.inbound, mail(sender=sender, subject=f"Case {i}.{k}",
                                                    message_id=ref), clock.now())
                refs[ref] = (sender, 0.0)
        await MailIntake(rt).drain()
        sender = MailSender(rt, sink.smtp, clock=clock)
        sink.down = True
        began = clock.now()
        while clock.now() - began < dt.timedelta(minutes=75):
            await sender.run_once()
            clock.advance(seconds=30)
        sink.down = False
        for _ in range(200):  # retries are due within their backoff; step the clock
            await sender.run_once()
            clock.advance(seconds=30)
        data_lost, dup = 0, 0
        per_sender = collections.Counter(
            str(m["To"]).strip("<>").lower() for m in sink.messages())
        for s in senders:
            data_lost += max(0, 5 - per_sender[s])
            dup += max(0, per_sender[s] - 5)
        pending, unsent = await _counts(url)
        db_failed = await _failed_count(url)
        await rt.close()
        return Result("relay_down", len(refs), lost=data_lost + 0, duplicated=dup,
                      stuck=pending + unsent, note=f"given up rows {db_failed}; "
                      "test clock, 75 min outage")


async def _failed_count(url: str) -> int:
    db = make_engine(url)
    try:
        async with db.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(outbox).where(
                outbox.c.channel == "email", outbox.c.failed_at.is_not(None)))).scalar_one())
    finally:
        await db.dispose()


_MID = re.compile(rb"^Message-ID:[^\r\n]*\r?\n", re.I | re.M)


def _wrapped(text: bytes, width: int = 76) -> bytes:
    return b"\r\n".join(text[i:i + width] for i in range(0, len(text), width))


def heavy(i: int) -> bytes:
    """The campaign's slow shapes: HTML with mismatched end tags (140 KB), a table with
    unclosed rows (280 KB), a long `format=flowed` body (500 KB)."""
    if i % 3 == 0:
        kind, body = b"text/html", _wrapped(b"<div><span>x</p></i></b>" * 5800)
    elif i % 3 == 1:
        kind, body = b"text/html", _wrapped(b"<table>" + b"<tr><td>cell" * 23000)
    else:
        kind = b"text/plain; format=flowed"
        body = (b"flowed words go on and on \r\n" * 18000) + b"end\r\n"
    return (b"Subject: heavy " + str(i).encode() + b"\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: " + kind + b"; charset=utf-8\r\n\r\n" + body + b"\r\n")


def mutated(n: int, seed: int = 13) -> Iterator[tuple[str, bytes]]:
    """`n` mails made by breaking the corpus: flipped and 8-bit bytes, cut short, headers
    doubled or stretched, NULs, CR/LF and 8-bit bytes in headers, a long boundary, long
    bodies; one in 50 of the campaign's slow shapes (`heavy`)."""
    rng = random.Random(seed)
    bodies = [p.read_bytes() for p in CORPUS]
    for i in range(n):
        raw = bytearray(_MID.sub(b"", rng.choice(bodies)))
        how = i % 8
        if i % 50 == 49:
            raw = bytearray(heavy(i // 50))
        elif how == 0:
            for _ in range(rng.randint(1, 20)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
        elif how == 1:
            raw = raw[: rng.randrange(1, len(raw))]
        elif how == 2:
            raw = bytearray(b"Subject: =?utf-8?q?a=0D=0Ab?=\r\nContent-Type: text/plain; "
                            b"charset=\xff\xfe\r\n") + raw
        elif how == 3:
            raw = bytearray(b"From: " + b"x" * 400 + b"@example.com\r\n") + raw
        elif how == 4:
            raw = raw.replace(b"\n\n", b"\n\x00\n", 1).replace(b"\r\n\r\n", b"\r\n\x00\r\n", 1)
        elif how == 5:
            raw = bytearray(b"Content-Type: multipart/mixed; boundary=" + b"b" * 300
                            + b"\r\n") + raw
        elif how == 6:
            raw += b"\r\n" + _wrapped(b"<div>" * 2000 + b"text" + b"</span>" * 2000) + b"\r\n"
        else:
            raw += b"\r\n" + (b"line of text " * 70 + b"\r\n") * 300
        ref = f"<mut{i}@fuzz.example>"
        sender = f"fuzz{i}@client{i}.example"
        yield ref, f"Message-ID: {ref}\r\nFrom: {sender}\r\n".encode() + bytes(raw)


async def mutated_kind(n: int) -> Result:
    """`n` mutated mails through the SMTP intake of the service in this process: every one
    accepted ends done, ignored or quarantined (quarantine counts as stuck: staff must
    rescue it), none pending; the slowest mail's processing and the longest loop stall."""
    import aiosmtplib

    from bot.bootstrap import bootstrap
    from bot.channels.email.act.intake import MailIntake
    from bot.channels.email.act.process import MailProcessor
    from bot.channels.email.receive.ingress import IngressHandler, IngressService
    from bot.channels.email.service import Worker
    from bot.channels.email.understand.identity import MailIdentity
    from engine.inbox import InboundRow
    from engine.ports import SystemClock
    from tests.support_email import SECRET, settings_for

    slowest: dict[str, float] = {}

    class Timed(MailProcessor):
        async def handle(self, row: InboundRow) -> Any:
            began = time.perf_counter()
            try:
                return await super().handle(row)
            finally:
                slowest[row.external_id] = time.perf_counter() - began

    async with sqlite_db() as (url, _):
        settings = settings_for(url)
        rt = await bootstrap(settings, clock=SystemClock(), secret=SECRET)
        intake = MailIntake(rt, processor=Timed)
        worker = Worker("processor", intake.drain, 30)
        handler = IngressHandler(rt.inbound, MailIdentity.of(settings, SECRET), SystemClock(),
                                 max_size=settings.email.max_size, lmtp=False,
                                 on_stored=worker.wake)
        ingress = IngressService(handler, "127.0.0.1", 0)
        accepted: dict[str, tuple[str, float]] = {}
        refused = 0
        with LoopWatch() as watch:
            await worker.start()
            await ingress.start()
            port = ingress.port
            for ref, raw in mutated(n):
                try:
                    await aiosmtplib.send(raw, sender="fuzz@client.example",
                                          recipients=[SUPPORT], hostname="127.0.0.1",
                                          port=port, timeout=60)
                    accepted[ref] = ("", time.monotonic())
                except aiosmtplib.SMTPException:
                    refused += 1
            deadline = time.monotonic() + 300
            while (await _counts(url))[0] and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await ingress.stop()
            await worker.stop()
        db = make_engine(url)
        async with db.connect() as conn:
            rows = (await conn.execute(select(inbound.c.external_id, inbound.c.status))).all()
        await db.dispose()
        await rt.close()
        statuses = collections.Counter(r.status for r in rows)
        stored = {r.external_id for r in rows}
        lost = sum(1 for ref in accepted if ref not in stored)
        return Result("mutated", n, lost=lost,
                      stuck=statuses["pending"] + statuses["quarantined"],
                      slowest=max(slowest.values(), default=0.0), stall=watch.longest,
                      note=f"{dict(statuses)}; refused by SMTP {refused}")


# ------------------------------------------------------------------ main

def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def show(results: list[Result]) -> None:
    head = f"{'kind':<13}{'mails':>6}{'lost':>6}{'dup':>5}{'stuck':>6}{'copies':>7}" \
           f"{'slowest':>11}{'stall':>10}  note"
    print(head)
    for r in results:
        print(f"{r.kind:<13}{r.mails:>6}{r.lost:>6}{r.duplicated:>5}{r.stuck:>6}{r.copies:>7}"
              f"{_seconds(r.slowest):>11}{_seconds(r.stall):>10}  {r.note}", flush=True)
    total = Result("total", sum(r.mails for r in results),
                   sum(r.lost for r in results), sum(r.duplicated for r in results),
                   sum(r.stuck for r in results), sum(r.copies for r in results),
                   max((r.slowest or 0.0 for r in results), default=0.0),
                   max((r.stall or 0.0 for r in results), default=0.0))
    print(f"lost {total.lost}, duplicated {total.duplicated}, stuck {total.stuck}, "
          f"slowest mail {_seconds(total.slowest)}, longest event-loop stall "
          f"{_seconds(total.stall)}")


async def campaign(scale: float, only: set[str]) -> list[Result]:
    def size(n: int) -> int:
        return max(10, int(n * scale))

    results: list[Result] = []

    async def run(kind: str, job: Callable[[], Awaitable[Result]]) -> None:
        if only and kind not in only:
            return
        began = time.monotonic()
        try:
            result = await job()
        except Exception as exc:  # a kind that breaks is a finding, not the end
            result = Result(kind, 0, note=f"FAILED: {type(exc).__name__}: {exc}"[:200])
        result.note += f" ({time.monotonic() - began:.0f} s)"
        results.append(result)
        show([result])

    await run("smtp_kill", lambda: smtp_kill(size(300)))
    await run("drain_kill", lambda: drain_kill(size(300)))
    await run("relay_down", lambda: relay_down(size(50)))
    await run("mutated", lambda: mutated_kind(size(1000)))
    await run("workers_pg", lambda: workers_pg(size(500)))
    if not only or only & {"imap_kill", "imap_restart"}:
        with running_dovecot(4) as dv:
            await run("imap_kill", lambda: imap_kill(size(1000), dv))
            await run("imap_restart", lambda: imap_restart(size(20), dv, max(10, 90 * scale)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    # The in-process kinds log each failing mail with its traceback; the table says it.
    logging.basicConfig(level=logging.CRITICAL)
    results = asyncio.run(campaign(args.scale, set(args.only)))
    print()
    show(results)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
