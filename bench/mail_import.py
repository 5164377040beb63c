"""Mail intake speed: IMAP import, SMTP ingress, and IDLE latency, against a real Dovecot.

Run as root from the project root (Dovecot drops privileges):

    .venv/bin/python -m bench.mail_import [-n 2000] [--samples 40]

1. IMAP import: N mails of the test corpus mix (tests/mail/*.eml, each with a fresh
   Message-ID, a third of them replies to earlier ones) are delivered to a throw-away
   Dovecot over LMTP (not timed), then a fresh bot process runs what
   `ticketbot mail fetch --once` runs: one IMAP pass storing the raw mail, then the
   processing into tickets, comments and acks on SQLite. Prints messages/s and that
   process's peak RSS (getrusage).
2. SMTP ingress: the same mix sent over one SMTP connection to the bot's ingress (client in
   the same process), then processed: messages/s.
3. IDLE latency: the watcher idles; a mail is delivered; the time until its acknowledgement
   is in the outbox, p50/p95 over `--samples` mails (Dovecot itself waits ~0.5 s before
   it notifies, libraries.md §3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.support_email import Dovecot, running_dovecot

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests/mail").glob("*.eml"))
SUPPORT = "support@help.example.com"
_MESSAGE_ID = re.compile(rb"^Message-ID:[^\r\n]*(\r?\n[ \t][^\r\n]*)*\r?\n", re.I | re.M)


# ------------------------------------------------------------------ the mail mix

def _with_id(raw: bytes, message_id: str, in_reply_to: str | None) -> bytes:
    raw = _MESSAGE_ID.sub(b"", raw).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head = f"Message-ID: {message_id}\r\n"
    if in_reply_to:
        head += f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n"
    return head.encode() + raw


def generate(n: int, seed: int = 4) -> list[bytes]:
    """The corpus mix, cycled: every mail new by Message-ID; one in three answers an
    earlier one (as a client reply would)."""
    rng = random.Random(seed)
    bodies = [p.read_bytes() for p in CORPUS]
    sent: list[str] = []
    out = []
    for i in range(n):
        mid = f"<bench{i}.{seed}@client.example>"
        parent = rng.choice(sent) if sent and i % 3 == 2 else None
        out.append(_with_id(bodies[i % len(bodies)], mid, parent))
        sent.append(mid)
    return out


def plain(i: int) -> bytes:
    return (f"From: Client {i} <client{i}@acme.example>\r\nTo: {SUPPORT}\r\n"
            f"Subject: Latency probe {i}\r\nMessage-ID: <probe{i}.{time.time_ns()}@acme.example>"
            "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe VPN is down again.\r\n"
            ).encode()


# ------------------------------------------------------------------ Dovecot

# ------------------------------------------------------------------ the bot side (child)

async def _runtime(db: Path, **email: object):  # type: ignore[no-untyped-def]
    """The service's application, as `ticketbot run` builds it (every reactor)."""
    from bot.bootstrap import bootstrap
    from config.settings import EmailConfig, Settings, with_sla

    settings = with_sla(Settings(
        database_url=f"sqlite+aiosqlite:///{db}", secret="bench",
        email=replace(EmailConfig(address=SUPPORT, listen_port=None), **email)))
    return await bootstrap(settings)


def _imap(port: int, user: str):  # type: ignore[no-untyped-def]
    from config.settings import ImapConfig

    return ImapConfig(host="127.0.0.1", port=port, user=user, password="secret", tls="none")


async def child_import(port: int, user: str, db: Path) -> dict[str, float]:
    from bot.channels.email.act.intake import MailIntake
    from bot.channels.email.receive.mailbox import MailboxSync, fetch_once

    rt = await _runtime(db)
    t0 = time.perf_counter()
    stored = await fetch_once(MailboxSync(_imap(port, user), rt.inbound, 25 << 20,
                                             rt.bus.clock))
    t1 = time.perf_counter()
    processed = await MailIntake(rt).drain()
    t2 = time.perf_counter()
    await rt.close()
    return {"stored": stored, "processed": processed, "fetch_s": t1 - t0, "process_s": t2 - t1,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


async def child_smtp(mails: list[bytes], db: Path) -> dict[str, float]:
    import aiosmtplib

    from bot.channels.email.act.intake import MailIntake
    from bot.channels.email.receive.ingress import IngressHandler, IngressService
    from bot.channels.email.understand.identity import MailIdentity

    rt = await _runtime(db)
    handler = IngressHandler(rt.inbound, MailIdentity.of(rt.settings, rt.secret), rt.bus.clock,
                             max_size=25 << 20, lmtp=False)
    service = IngressService(handler, "127.0.0.1", 0)
    await service.start()
    t0 = time.perf_counter()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=service.port) as smtp:
        for raw in mails:
            await smtp.sendmail("sender@client.example", [SUPPORT], raw)
    t1 = time.perf_counter()
    processed = await MailIntake(rt).drain()
    t2 = time.perf_counter()
    await service.stop()
    await rt.close()
    return {"accepted": len(mails), "processed": processed, "accept_s": t1 - t0,
            "process_s": t2 - t1}


async def child_idle(port: int, lmtp_port: int, user: str, db: Path,
                     samples: int) -> dict[str, float]:
    from bot.channels.email.act.intake import MailIntake
    from bot.channels.email.receive.mailbox import ImapService, MailboxSync
    from bot.channels.email.service import Worker

    rt = await _runtime(db)
    rounds: asyncio.Queue[float] = asyncio.Queue()
    waiting = asyncio.Event()
    processor = Worker("processor", MailIntake(rt, on_outbox=lambda: rounds.put_nowait(0)).drain,
                       30)
    watcher = ImapService(MailboxSync(_imap(port, user), rt.inbound, 25 << 20,
                                      rt.bus.clock), processor.wake, on_wait=waiting.set)
    await processor.start()
    await watcher.start()
    server = Dovecot(Path("/"), port, lmtp_port)
    latencies = [await _one_probe(rt, server, user, i, waiting, rounds) for i in range(samples)]
    await watcher.stop()
    await processor.stop()
    await rt.close()
    latencies.sort()
    return {"samples": samples, "p50_s": statistics.median(latencies),
            "p95_s": latencies[max(0, int(len(latencies) * 0.95) - 1)],
            "max_s": latencies[-1]}


async def _one_probe(rt: Any, server: Dovecot, user: str, i: int, waiting: asyncio.Event,
                     rounds: asyncio.Queue[float]) -> float:
    """Deliver one mail while the watcher idles; seconds until its ack is in the outbox."""
    await asyncio.wait_for(waiting.wait(), 30)
    waiting.clear()
    before = await rt.outbox.pending_count("email")
    await asyncio.to_thread(server.deliver_lmtp, user, [plain(i)])
    delivered = time.perf_counter()
    while await rt.outbox.pending_count("email") == before:
        await asyncio.wait_for(rounds.get(), 30)
    return time.perf_counter() - delivered


def child(argv: list[str]) -> None:
    mode, rest = argv[0], argv[1:]
    db = Path(rest[-1])
    if mode == "import":
        result = asyncio.run(child_import(int(rest[0]), rest[1], db))
    elif mode == "smtp":
        result = asyncio.run(child_smtp(generate(int(rest[0]), seed=9), db))
    else:
        result = asyncio.run(child_idle(int(rest[0]), int(rest[1]), rest[2], db, int(rest[3])))
    sys.stdout.write(json.dumps(result) + "\n")


def _spawn(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.mail_import", "--child", *args],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------ the report

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="mails to import (default 2000)")
    parser.add_argument("--samples", type=int, default=40, help="IDLE latency samples")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ticketbot-bench-"))
    try:
        with running_dovecot(3) as dv:
            _report(dv, args.n, args.samples, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _report(dv: Dovecot, n: int, samples: int, work: Path) -> None:
    mails = generate(n)
    t0 = time.perf_counter()
    dv.deliver_lmtp("u1@example.test", mails)
    print(f"delivered {n} mails ({len(CORPUS)} corpus files cycled) to Dovecot over LMTP "
          f"in {time.perf_counter() - t0:.1f} s (not part of the figures)")
    r = _spawn("import", str(dv.imap_port), "u1@example.test", str(work / "import.db"))
    total = r["fetch_s"] + r["process_s"]
    print(f"IMAP import ({n} mails, SQLite): fetch+store {r['stored'] / r['fetch_s']:.0f} msg/s,"
          f" processing {r['processed'] / r['process_s']:.0f} msg/s, end to end "
          f"{r['processed'] / total:.0f} msg/s ({total:.2f} s); peak RSS {r['rss_mb']:.0f} MB")
    s = _spawn("smtp", str(n), str(work / "smtp.db"))
    print(f"SMTP ingress ({n} mails, one connection, client in-process): accepted "
          f"{s['accepted'] / s['accept_s']:.0f} msg/s, then processed "
          f"{s['processed'] / s['process_s']:.0f} msg/s")
    idle = _spawn("idle", str(dv.imap_port), str(dv.lmtp_port), "u2@example.test",
                  str(samples), str(work / "idle.db"))
    print(f"IDLE, delivery -> ack in the outbox ({samples} mails): p50 {idle['p50_s']:.3f} s, "
          f"p95 {idle['p95_s']:.3f} s, max {idle['max_s']:.3f} s")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
