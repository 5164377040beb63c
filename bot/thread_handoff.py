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
tests/test_imap_faults.py): IMAP commands took 0.4-1.9 s for 250-2,000 mails, linear;
the inbound store's awaits took 0.2-17 s, at random, and 1,200 mails once took 175 s.
With a 1 ms interval the worker asks for the GIL after 1 ms without a switch, the loop
thread drops it at its next bytecode boundary and waits until the worker has it
(FORCE_SWITCHING), and the store's time is linear in the mails again.

The cost: when two threads both want the CPU they trade it every 1 ms instead of 5 ms,
a few microseconds per switch.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL = 0.001  # seconds


def shorten_switch_interval() -> None:
    """Idempotent; never lengthens an interval someone set shorter."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
