"""SLA clock with pauses: the clock stops while a ticket is `waiting` on the requester.

A pause is (paused_at, resumed_at); resumed_at None means the pause is still open, i.e. the
ticket is waiting now. Pauses may come unsorted or overlap: they are clipped to [start, now]
and merged first, so paused time is never subtracted twice and pauses before the ticket started
or after `now` do not count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from engine.sla.calendar import (
    BusinessCalendar,
    add_business_minutes,
    business_minutes_between,
)

Pause = tuple[dt.datetime, dt.datetime | None]
# (from, to, still_open) after clipping and merging
_Span = tuple[dt.datetime, dt.datetime, bool]


def _aware(at: dt.datetime, label: str) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime for {label}: {at.isoformat()}")
    return at


def _clipped(pause: Pause, start: dt.datetime, now: dt.datetime) -> _Span | None:
    paused_at, resumed_at = _aware(pause[0], "pause start"), pause[1]
    if resumed_at is not None and _aware(resumed_at, "pause end") < paused_at:
        raise ValueError(f"pause ends before it starts: {paused_at.isoformat()}")
    lo = max(paused_at, start)
    hi = now if resumed_at is None else min(resumed_at, now)
    return (lo, hi, resumed_at is None) if lo < hi or (resumed_at is None and lo == hi) else None


def _merged(pauses: Iterable[Pause], start: dt.datetime, now: dt.datetime) -> list[_Span]:
    spans = sorted(s for p in pauses if (s := _clipped(p, start, now)) is not None)
    merged: list[_Span] = []
    for lo, hi, still_open in spans:
        if merged and lo <= merged[-1][1]:
            prev_lo, prev_hi, prev_open = merged[-1]
            merged[-1] = (prev_lo, max(prev_hi, hi), prev_open or still_open)
        else:
            merged.append((lo, hi, still_open))
    return merged


def elapsed_business_minutes(
    cal: BusinessCalendar,
    start: dt.datetime,
    pauses: Iterable[Pause],
    now: dt.datetime,
) -> float:
    """Business minutes the SLA clock has run from `start` to `now`, paused time excluded."""
    if _aware(now, "now") <= _aware(start, "start"):
        return 0.0
    running = 0.0
    cursor = start
    for lo, hi, _ in _merged(pauses, start, now):
        running += business_minutes_between(cal, cursor, lo)
        cursor = hi
    return running + business_minutes_between(cal, cursor, now)


def deadline_with_pauses(
    cal: BusinessCalendar,
    start: dt.datetime,
    target_minutes: float,
    pauses: Iterable[Pause],
    now: dt.datetime,
) -> dt.datetime | None:
    """The UTC deadline: `target_minutes` of running clock after `start`, pushed out by pauses.

    Returns None while the clock is stopped (an open pause) before the target was reached:
    there is no deadline until the ticket resumes. If the target was already reached before the
    open pause began, the (past) deadline is returned, so a breach stays visible while waiting.
    """
    _aware(start, "start")
    _aware(now, "now")
    remaining, cursor = float(target_minutes), start
    for lo, hi, still_open in _merged(pauses, start, now):
        running = business_minutes_between(cal, cursor, lo)
        if remaining <= running:
            break
        if still_open:
            return None
        remaining -= running
        cursor = hi
    return add_business_minutes(cal, cursor, remaining)
