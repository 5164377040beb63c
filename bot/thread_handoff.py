"""The interpreter's thread switch interval, short enough that a busy event loop cannot
starve the threads it hands work to.

SQLite statements run on aiosqlite's worker thread (engine/store/sqlite_onehop.py), and
every statement needs the GIL back on that thread several times (leaving its queue's
get(), after each sqlite3 call, to post the result). CPython's GIL lets a waiting thread
ask the holder to drop it only after a whole switch interval has passed *with no switch
at all*. An event loop busy with CPU work releases the GIL for microseconds at every
select() and takes it straight back before the woken worker runs; each of those counts as
a switch, so when a loop iteration is shorter than the interval (default 5 ms) the
worker's request is never made and it waits until the scheduler happens to run it inside
one of those gaps: seconds, now and then (the "convoy effect", CPython bpo-7946).

Measured with bench/imap_busy.py (tiny mails, the loop hogged in 3.5 ms slices as in
tests/test_imap_faults.py): IMAP commands took 0.3-1.9 s for 250-2,000 mails, linear;
the inbound store's awaits took 0.2-109 s, at random (2,000 mails once took 111 s; 1,200
once took 175 s in the test).
With a shorter interval the worker asks for the GIL once an interval passes without a
switch, the loop thread drops it at its next bytecode boundary and waits until the worker
has it (FORCE_SWITCHING), and the store's time is linear in the mails again. The interval
must be shorter than the loop's CPU runs between two GIL releases: bench/gil_convoy.py
starved the worker for 0.4-5.9 s with 3.5 ms runs at 5 ms, and for 1.2 s with 0.6 ms
runs at 1 ms; at 0.5 ms its worst wait was 48-81 ms for both.

The cost: when two threads both want the CPU they trade it every 0.5 ms instead of 5 ms,
a few microseconds per switch (two CPU-bound threads: no difference measurable here).
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL = 0.0005  # seconds


def shorten_switch_interval() -> None:
    """Idempotent; never lengthens an interval someone set shorter."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
