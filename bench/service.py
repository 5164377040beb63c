"""The service as users run it: `ticketbot run` in its own process, mail blasted at its
SMTP intake, acknowledgements handed to a local relay; beside it in the same run, a bare
sink that takes the same mails and hands each one straight to a relay (no processing).

Run from the project root:

    .venv/bin/python -m bench.service [-n 2000] [--connections 4] [--no-baseline]

1. The corpus: issue 15's mix from `bench/cron_loop.py` (new requests only: 0.3-30 KB of
   text, a quarter with HTML, a third Russian, half of those KOI8-R, 1 in 14 with a
   PDF-like attachment of 50-300 KB).
2. `ticketbot --config X run` with SQLite (the default), the SMTP intake on a free port,
   `[email.smtp]` pointing at a relay (aiosmtpd in this process) that notes when each ack
   arrives; Telegram off. Started as a user starts it; the bench waits for the port.
3. `--connections` SMTP clients (threads) send the corpus; a mail counts as delivered when
   its `250` comes back. Measured: mails/s from the first mail in to the last ack at the
   relay, p50/p95 of delivery -> its ack at the relay (an ack is matched by In-Reply-To),
   and the peak RSS of the service process plus its children (/proc, sampled every 50 ms).
4. The baseline, in the same run: `python -m bench.service --sink` in its own process, an
   aiosmtpd server that, for each mail taken, re-sends its bytes to a second relay over
   one kept connection. Same clients, same measures.

`TICKETBOT_PROFILE=FILE` in the environment makes `ticketbot run` write a cProfile of the
service process there when it stops (see bot/serve.py); `--profile FILE` passes it on.
`BENCH_PYSPY=FILE` records the service and its worker with py-spy (collapsed stacks), if
it is on PATH; `BENCH_THREADS=1` prints each process's peak RSS and each thread's CPU.
`--before PROGRAM` runs another build's `ticketbot` on the same mails in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench.cron_loop import SUPPORT, new_mail
from tests.support_email import free_port

ROOT = Path(__file__).resolve().parent.parent
TICKETBOT = ROOT / ".venv/bin/ticketbot"
_REF = re.compile(rb"^In-Reply-To:\s*(<[^>\r\n]*>)", re.I | re.M)
_MID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]*>)", re.I | re.M)


# ------------------------------------------------------------------ the corpus

def corpus(n: int) -> list[tuple[str, bytes]]:
    rng = random.Random(15)
    tag = f"svc{time.time_ns()}"
    out = []
    for i in range(n):
        raw = new_mail(rng, i, tag)
        found = _MID.search(raw)
        assert found is not None
        out.append((found.group(1).decode(), raw))
    return out


# ------------------------------------------------------------------ the relay

@dataclass
class Relay:
    """Keeps, per mail it answers, when its first ack arrived (In-Reply-To, else the
    Message-ID of what it was handed: the sink re-sends the mail itself)."""

    arrived: dict[str, float] = field(default_factory=dict)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.perf_counter()
        data: bytes = envelope.original_content or envelope.content
        head = data[:8192]
        found = _REF.search(head) or _MID.search(head)
        with self.lock:
            self.count += 1
            if found is not None:
                self.arrived.setdefault(found.group(1).decode(), now)
        return "250 2.0.0 OK"


def start_relay() -> tuple[Relay, Controller, int]:
    relay = Relay()
    port = free_port()
    ctl = Controller(relay, hostname="127.0.0.1", port=port)
    ctl.start()
    return relay, ctl, port


# ------------------------------------------------------------------ memory

def _rss_kb(pid: int, field: str = "VmRSS:") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return found


def tree_rss_kb(pid: int) -> int:
    """The process and its descendants (the parser worker and its spawn helper)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _rss_kb(p)
        todo += _children(p)
    return total


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += _children(p)
    return found


def _print_threads(pid: int) -> None:
    """Where the CPU went, per process and thread (`BENCH_THREADS=1`)."""
    for p in _tree(pid):
        print(f"  pid {p}: peak RSS {_rss_kb(p, 'VmHWM:') / 1024:.1f} MB")
        for task in sorted(os.listdir(f"/proc/{p}/task")):
            with open(f"/proc/{p}/task/{task}/comm") as f:
                name = f.read().strip()
            ticks = _task_ticks(p, int(task))
            print(f"  pid {p} thread {task} {name:<16} {ticks / os.sysconf('SC_CLK_TCK'):7.2f} s")


def _task_ticks(pid: int, task: int) -> int:
    with open(f"/proc/{pid}/task/{task}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class PeakRss:
    """Samples the process tree: peak RSS, and the CPU each process has used (last seen)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.ticks: dict[int, int] = {}
        self.ticks0 = {p: _cpu_ticks(p) for p in _tree(pid)}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            pids = _tree(self.pid)
            self.peak = max(self.peak, sum(_rss_kb(p) for p in pids))
            for p in pids:
                self.ticks[p] = max(self.ticks.get(p, 0), _cpu_ticks(p))

    def cpu_seconds(self) -> float:
        """CPU of the tree while sampled (children started meanwhile from zero)."""
        used = sum(t - self.ticks0.get(p, 0) for p, t in self.ticks.items())
        return used / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


# ------------------------------------------------------------------ the clients

def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the process ended with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listens on {port} after {timeout} s")


def blast(port: int, mails: Sequence[tuple[str, bytes]], connections: int) -> dict[str, float]:
    """Each client sends every `connections`-th mail; returns when each one's 250 came."""
    delivered: dict[str, float] = {}
    lock = threading.Lock()

    def client(k: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
            for mid, raw in mails[k::connections]:
                smtp.sendmail("client@org.example", [SUPPORT], raw)
                now = time.perf_counter()
                with lock:
                    delivered[mid] = now

    threads = [threading.Thread(target=client, args=(k,)) for k in range(connections)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return delivered


@dataclass
class Result:
    name: str
    mails: int
    acks: int
    seconds: float
    p50: float
    p95: float
    rss_mb: float
    start_s: float
    intake_s: float  # first mail in -> the last 250
    cpu_ms: float  # CPU of the process tree per mail

    @property
    def rate(self) -> float:
        return self.mails / self.seconds


def measure(name: str, proc: subprocess.Popen[bytes], port: int, relay: Relay,
            mails: Sequence[tuple[str, bytes]], connections: int, expect: int,
            start_s: float, timeout: float) -> Result:
    peak = PeakRss(proc.pid)
    first = time.perf_counter()
    delivered = blast(port, mails, connections)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with relay.lock:
            if len(relay.arrived) >= expect:
                break
        time.sleep(0.02)
    rss = peak.stop()
    cpu = peak.cpu_seconds()
    if os.environ.get("BENCH_THREADS"):
        _print_threads(proc.pid)
    with relay.lock:
        arrived = dict(relay.arrived)
    latencies = sorted(arrived[m] - delivered[m] for m in delivered if m in arrived)
    last = max(arrived.values()) if arrived else time.perf_counter()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan")
    return Result(name, len(mails), len(arrived), last - first,
                  statistics.median(latencies) if latencies else float("nan"), p95,
                  rss / 1024, start_s, max(delivered.values()) - first,
                  cpu / len(mails) * 1000)


# ------------------------------------------------------------------ the two sides

def ticketbot_config(work: Path, intake: int, relay: int) -> Path:
    conf = work / "ticketbot.toml"
    conf.write_text(textwrap.dedent(f"""\
        [service]
        database_url = "sqlite+aiosqlite:///{work}/data/ticketbot.db"
        log_level = "WARNING"
        [email]
        address = "{SUPPORT}"
        listen_host = "127.0.0.1"
        listen_port = {intake}
        [email.smtp]
        host = "127.0.0.1"
        port = {relay}
        tls = "none"
        [telegram]
        enabled = false
        """))
    return conf


def run_ticketbot(work: Path, mails: Sequence[tuple[str, bytes]], connections: int,
                  profile: str | None, program: Path = TICKETBOT,
                  name: str = "ticketbot run") -> Result:
    relay, ctl, relay_port = start_relay()
    intake = free_port()
    conf = ticketbot_config(work, intake, relay_port)
    env = {**os.environ, "TICKETBOT_SECRET": "bench"}
    if profile:
        env["TICKETBOT_PROFILE"] = profile
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(program), "--config", str(conf), "run"], env=env, cwd=work)
    spy = None
    try:
        wait_port(intake, proc)
        started = time.perf_counter() - t0
        if os.environ.get("BENCH_PYSPY"):  # collapsed stacks of the service, if installed
            spy = subprocess.Popen(["py-spy", "record", "-p", str(proc.pid), "-f", "raw",
                                    "-o", os.environ["BENCH_PYSPY"], "-s", "--nonblocking",
                                    "-r", "100"])
        return measure(name, proc, intake, relay, mails, connections, len(mails),
                       started, timeout=600)
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        ctl.stop()


def run_sink(mails: Sequence[tuple[str, bytes]], connections: int) -> Result:
    relay, ctl, relay_port = start_relay()
    intake = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.service", "--sink", str(intake),
                             str(relay_port)], cwd=ROOT)
    try:
        wait_port(intake, proc)
        started = time.perf_counter() - t0
        return measure("bare aiosmtpd sink", proc, intake, relay, mails, connections,
                       len(mails), started, timeout=600)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        ctl.stop()


# ------------------------------------------------------------------ the sink (child)

class Sink:
    """Takes each mail and queues it; one sender hands them on over one connection."""

    def __init__(self, relay_port: int) -> None:
        self.relay_port = relay_port
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.queue.put_nowait(envelope.original_content or envelope.content)
        return "250 2.0.0 OK"

    async def forward(self) -> None:
        import aiosmtplib

        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=self.relay_port) as smtp:
            while True:
                data = await self.queue.get()
                await smtp.sendmail("support@help.example.com", ["client@org.example"], data)


async def sink_main(port: int, relay_port: int) -> None:
    from aiosmtpd.smtp import SMTP

    sink = Sink(relay_port)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink), "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    forwarding = asyncio.create_task(sink.forward())
    await stop.wait()
    forwarding.cancel()
    server.close()


# ------------------------------------------------------------------ the report

def report(results: list[Result]) -> None:
    print(f"\n{'':<22}{'mails/s':>9}{'acks':>7}{'p50 s':>8}{'p95 s':>8}{'peak RSS MB':>13}"
          f"{'intake s':>10}{'CPU ms/mail':>13}{'port up s':>11}")
    for r in results:
        print(f"{r.name:<22}{r.rate:9.1f}{r.acks:7d}{r.p50:8.3f}{r.p95:8.3f}{r.rss_mb:13.1f}"
              f"{r.intake_s:10.2f}{r.cpu_ms:13.2f}{r.start_s:11.2f}")
    ours = results[0]
    print(f"targets: >= 500 mails/s: {'met' if ours.rate >= 500 else 'MISSED'}; "
          f"p95 < 1 s: {'met' if ours.p95 < 1 else 'MISSED'}; "
          f"peak RSS < 150 MB: {'met' if ours.rss_mb < 150 else 'MISSED'}")
    if len(results) >= 2:
        base = results[1]
        print(f"ratio to the bare sink: rate {ours.rate / base.rate:.2f}x, "
              f"p95 {ours.p95 / base.p95:.1f}x, RSS {ours.rss_mb / base.rss_mb:.1f}x, "
              f"CPU per mail {ours.cpu_ms / base.cpu_ms:.1f}x")
    if len(results) == 3:
        before = results[2]
        print(f"ratio to --before: rate {ours.rate / before.rate:.2f}x, "
              f"p95 {ours.p95 / before.p95:.2f}x, RSS {ours.rss_mb / before.rss_mb:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="mails (default 2000)")
    parser.add_argument("--connections", type=int, default=4, help="SMTP clients (default 4)")
    parser.add_argument("--no-baseline", action="store_true", help="ticketbot alone")
    parser.add_argument("--profile", help="cProfile of the service process to this file")
    parser.add_argument("--ticketbot", type=Path, default=TICKETBOT, metavar="PROGRAM",
                        help="the `ticketbot` to measure (default: this tree's .venv)")
    parser.add_argument("--before", type=Path, metavar="TICKETBOT",
                        help="also run this `ticketbot` program (another tree's venv), "
                             "e.g. /work/main/.venv/bin/ticketbot")
    parser.add_argument("--sink", nargs=2, type=int, metavar=("PORT", "RELAY"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        asyncio.run(sink_main(*args.sink))
        return
    if not TICKETBOT.exists():
        raise SystemExit(f"{TICKETBOT} is missing: install the project in .venv first")
    mails = corpus(args.n)
    size = sum(len(m) for _, m in mails)
    pdfs = sum(b"application/pdf" in m for _, m in mails)
    koi8 = sum(b'charset="koi8-r"' in m for _, m in mails)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; Python "
          f"{sys.version.split()[0]}; corpus {len(mails)} mails, {size / 1e6:.1f} MB "
          f"({koi8} KOI8-R, {pdfs} with a PDF), {args.connections} SMTP connections")
    work = Path(tempfile.mkdtemp(prefix="ticketbot-service-", dir="/tmp"))
    try:
        results = [run_ticketbot(work, mails, args.connections, args.profile, args.ticketbot)]
        if not args.no_baseline:
            results.append(run_sink(mails, args.connections))
        if args.before:
            (work / "data").rename(work / "data-ours")
            results.append(run_ticketbot(work, mails, args.connections, None, args.before,
                                         "before (--before)"))
        report(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
