"""The GIL convoy behind bot/thread_handoff.py, without asyncio, aiosqlite or IMAP.

    .venv/bin/python -m bench.gil_convoy [--seconds 5]

The main thread does what a busy event loop does: CPU work in slices (3.5 ms, as
tests/test_imap_faults.py's hog, or 0.6 ms), each followed by a zero-timeout select() (a
GIL release of microseconds). A worker thread does what aiosqlite's does: take a request
from a queue, run one SQLite SELECT, post the answer. Prints the worker's round trips for
each switch interval; the first line, without the select(), is the control. When the
slice is shorter than the interval, the worker can starve for seconds.
"""

from __future__ import annotations

import argparse
import queue
import select
import sqlite3
import sys
import threading
import time


def _worker(conn: sqlite3.Connection, requests: queue.SimpleQueue[bool],
            answers: queue.SimpleQueue[float]) -> None:
    while requests.get():
        conn.execute("SELECT a FROM t").fetchall()
        answers.put(time.perf_counter())


def round_trips(seconds: float, work: int, with_select: bool) -> list[float]:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.execute("CREATE TABLE t(a)")
    requests: queue.SimpleQueue[bool] = queue.SimpleQueue()
    answers: queue.SimpleQueue[float] = queue.SimpleQueue()
    worker = threading.Thread(target=_worker, args=(conn, requests, answers))
    worker.start()
    latencies: list[float] = []
    asked: float | None = None
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if asked is None:
            asked = time.perf_counter()
            requests.put(True)
        sum(range(work))  # one slice of the loop's CPU work (no eval-breaker checks)
        if with_select:
            select.select([], [], [], 0)
        try:
            latencies.append(answers.get_nowait() - asked)
            asked = None
        except queue.Empty:
            pass
    requests.put(False)
    worker.join()
    return sorted(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per line")
    args = parser.parse_args()
    print(f"{'loop slice':>24} {'switch':>7} {'trips':>6} {'p50 ms':>7} {'p99 ms':>8} "
          f"{'max ms':>8}")
    runs = [(300_000, False, 0.005)] + [(work, True, interval) for work in (300_000, 50_000)
                                        for interval in (0.005, 0.001, 0.0005)]
    for work, with_select, interval in runs:
        sys.setswitchinterval(interval)
        started = time.perf_counter()
        sum(range(work))
        slice_ms = (time.perf_counter() - started) * 1e3
        lat = round_trips(args.seconds, work, with_select)
        label = f"{slice_ms:.1f} ms CPU" + (" + select(0)" if with_select else "")
        print(f"{label:>24} {interval * 1e3:>5g}ms {len(lat):>6} "
              f"{lat[len(lat) // 2] * 1e3:>7.1f} {lat[int(len(lat) * 0.99)] * 1e3:>8.1f} "
              f"{lat[-1] * 1e3:>8.1f}")

if __name__ == "__main__":
    main()
