"""IMAP import time against the count of unread mails, with the event loop kept busy (the
shape of tests/test_imap_faults.py's bulk test): does the time grow linearly, and where
does it go?

Run as root from the project root (Dovecot drops privileges):

    .venv/bin/python -m bench.imap_busy [-n 250 500 1000 2000] [--rounds 2] [--switch-interval 0.005 0]

For each N: N tiny mails are delivered over LMTP to a fresh account of one throw-away
Dovecot (not timed); then a fresh process on a fresh SQLite file runs one `fetch_once`
pass while a task hogs the loop in 3-4 ms slices, as the test does. The pass's time is
split into the IMAP commands' (`ImapSession.guarded`), the inbound store's (its awaited
calls) and the rest.

`--switch-interval 0.005 0` runs every N twice, interleaved: with CPython's default 5 ms
thread switch interval set after bootstrap (the code before bot/thread_handoff.py), and
as bootstrap leaves it (0.5 ms): a before/after in the same machine state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.support_email import running_dovecot

ROOT = Path(__file__).resolve().parent.parent


def tiny(n: int) -> bytes:
    """The test's mail (tests/test_imap_faults.py: tiny)."""
    return (f"From: Client {n} <c{n}@acme.example>\r\nTo: support@help.example.com\r\n"
            f"Subject: Mail {n}\r\nMessage-ID: <bulk{n}@acme.example>\r\n\r\nHello {n}.\r\n"
            ).encode()


async def _hog(stop: asyncio.Event) -> None:
    """The test's busy loop: CPU work in slices, so answers pile up between reads."""
    while not stop.is_set():
        sum(range(300_000))
        await asyncio.sleep(0)


class Stopwatch:
    """Seconds spent awaiting wrapped coroutine functions, summed per label."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, label: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def timed(*args: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kw)
            finally:
                self.spent[label] = self.spent.get(label, 0.0) + time.perf_counter() - started
        return timed


async def child_import(port: int, user: str, db: Path, interval: float) -> dict[str, float]:
    from bot.channels.email.receive import imap
    from bot.channels.email.receive.mailbox import MailboxSync, fetch_once
    from config.settings import ImapConfig
    from tests.fakes import FixedClock
    from tests.support_email import make_runtime, settings_for

    clock = FixedClock()
    rt = await make_runtime(settings_for(f"sqlite+aiosqlite:///{db}"), clock)
    if interval:
        sys.setswitchinterval(interval)
    watch = Stopwatch()
    guarded = imap.ImapSession.guarded
    imap.ImapSession.guarded = watch.wrap("imap", guarded)  # type: ignore[method-assign]
    inbound = rt.inbound
    for name in ("mailbox_state", "set_mailbox_state", "store_mails", "find", "store"):
        setattr(inbound, name, watch.wrap("db", getattr(inbound, name)))
    cfg = ImapConfig(host="127.0.0.1", port=port, user=user, password="secret", tls="none")
    stop = asyncio.Event()
    hog = asyncio.create_task(_hog(stop))
    started = time.perf_counter()
    try:
        stored = await fetch_once(MailboxSync(cfg, inbound, rt.settings.email.max_size, clock))
    finally:
        stop.set()
        await hog
    seconds = time.perf_counter() - started
    imap.ImapSession.guarded = guarded  # type: ignore[method-assign]
    await rt.close()
    return {"stored": stored, "seconds": seconds, "imap_s": watch.spent.get("imap", 0.0),
            "db_s": watch.spent.get("db", 0.0), "switch": sys.getswitchinterval()}


def _spawn(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.imap_busy", "--child", *args],
                         check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--rounds", type=int, default=1, help="passes per N (fresh mailbox)")
    parser.add_argument("--switch-interval", type=float, nargs="+", default=[0.0],
                        help="one pass per value, interleaved (0: as bootstrap leaves it)")
    args = parser.parse_args()
    counts: list[int] = args.n
    intervals: list[float] = args.switch_interval
    rows = []
    with running_dovecot(len(counts) * args.rounds * len(intervals)) as dv, \
            tempfile.TemporaryDirectory() as work:
        account = 0
        for _ in range(args.rounds):
            for n in counts:
                for interval in intervals:
                    account += 1
                    user = f"u{account}@example.test"
                    dv.deliver_lmtp(user, [tiny(k) for k in range(n)])
                    r = _spawn(str(dv.imap_port), user, str(Path(work) / f"{account}.db"),
                               str(interval))
                    assert r["stored"] == n, r
                    rows.append((n, r))
                    print(f"  N={n} switch {r['switch'] * 1e3:g} ms: {r['seconds']:.1f} s",
                          file=sys.stderr, flush=True)
    print(f"{'switch':>6} {'N':>6} {'seconds':>8} {'mails/s':>8} {'ms/mail':>8} {'IMAP s':>7} "
          f"{'store s':>8} {'other s':>8}")
    for n, r in sorted(rows, key=lambda row: (-row[1]["switch"], row[0])):
        s = r["seconds"]
        print(f"{r['switch'] * 1e3:>4g}ms {n:>6} {s:>8.1f} {n / s:>8.1f} {s / n * 1e3:>8.2f} "
              f"{r['imap_s']:>7.1f} {r['db_s']:>8.1f} {s - r['imap_s'] - r['db_s']:>8.1f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        a = sys.argv[2:]
        result = asyncio.run(child_import(int(a[0]), a[1], Path(a[2]), float(a[3])))
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        main()
