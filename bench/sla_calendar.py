"""Per-call cost of the SLA business-time arithmetic (engine/sla/calendar.py).

Run from the project root: .venv/bin/python -m bench.sla_calendar
3,000 random starts in 2026 (seeded) on RU Mon-Fri 09:00-13:00 + 14:00-18:00, Europe/Moscow.
The per-year tables are built before timing; the one-off build cost is printed separately.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable

from engine.sla.calendar import (
    WEEKDAYS,
    add_business_minutes,
    build_calendar,
    business_minutes_between,
)

N = 3000
SPAN_30_DAYS = dt.timedelta(days=30)


def _starts() -> list[dt.datetime]:
    rng = random.Random(2026)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [base + dt.timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(N)]


def _measure(label: str, call: Callable[[dt.datetime], object], starts: list[dt.datetime]) -> None:
    timings = []
    for start in starts:
        t0 = time.perf_counter_ns()
        call(start)
        timings.append((time.perf_counter_ns() - t0) / 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95)]
    print(f"{label:<44} median {statistics.median(timings):5.2f} µs   p95 {p95:5.2f} µs")


def main() -> None:
    t0 = time.perf_counter()
    cal = build_calendar(
        "ru", "Europe/Moscow", {d: ["09:00-13:00", "14:00-18:00"] for d in WEEKDAYS[:5]}
    )
    t1 = time.perf_counter()
    add_business_minutes(cal, dt.datetime(2026, 6, 1, tzinfo=dt.UTC), 1_000_000)  # builds years
    t2 = time.perf_counter()
    print(f"build_calendar (holidays 2020-2035)          {(t1 - t0) * 1000:6.1f} ms")
    print(f"first use: per-year tables 2026-2030          {(t2 - t1) * 1000:6.1f} ms")
    starts = _starts()
    _measure("add_business_minutes(480)", lambda s: add_business_minutes(cal, s, 480), starts)
    _measure("add_business_minutes(2400)", lambda s: add_business_minutes(cal, s, 2400), starts)
    _measure(
        "business_minutes_between(30-day span)",
        lambda s: business_minutes_between(cal, s, s + SPAN_30_DAYS),
        starts,
    )


if __name__ == "__main__":
    main()
