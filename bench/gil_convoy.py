"""The GIL convoy behind bot/thread_handoff.py, without asyncio, aiosqlite or IMAP.

    .venv/bin/python -m bench.gil_convoy [--seconds 10]

The main thread does what a busy event loop does: CPU work in 3.5 ms slices, each followed
by a zero-timeout select() (a GIL release of microseconds). A worker thread does what
aiosqlite's does: take a request from a queue, run one SQLite SELECT, post the answer.
Prints the worker's round trips for each switch interval, with and without the select().
With the select() and CPython's default 5 ms, the worker starves for seconds.
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


def round_trips(seconds: float, with_select: bool) -> list[float]:
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
        sum(range(300_000))  # one slice of the loop's CPU work (no eval-breaker checks)
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
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"{'loop slice':>22} {'switch':>7} {'trips':>6} {'p50 ms':>7} {'p99 ms':>8} "
          f"{'max ms':>8}")
    for with_select in (False, True):
        for interval in (0.005, 0.001):
            sys.setswitchinterval(interval)
            lat = round_trips(args.seconds, with_select)
            slice_ = "CPU + select(0)" if with_select else "CPU only"
            print(f"{slice_:>22} {interval * 1e3:>5g}ms {len(lat):>6} "
                  f"{lat[len(lat) // 2] * 1e3:>7.1f} {lat[int(len(lat) * 0.99)] * 1e3:>8.1f} "
                  f"{lat[-1] * 1e3:>8.1f}")


if __name__ == "__main__":
    main()
