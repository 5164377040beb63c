"""One backoff for every retry: the Telegram poll and connect, the IMAP reconnect, and the
outbox's next attempt. Deterministic (no jitter), so tests and operators can predict it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """The delay after `failures` failures in a row: `first`, doubling by `factor`, at
    most `cap` seconds. `at_once` retries the first failure without waiting (a connection
    the server kicked usually comes straight back)."""

    first: float
    cap: float
    factor: float = 2.0
    at_once: bool = False

    def __post_init__(self) -> None:
        if self.first < 0 or self.cap < self.first or self.factor < 1:
            raise ValueError(f"bad backoff {self}")

    def delay(self, failures: int) -> float:
        steps = max(failures, 1) - 1
        if self.at_once:
            if steps == 0:
                return 0.0
            steps -= 1
        # Past 2**60 × first the cap has long been reached; the bound keeps floats finite.
        return min(self.cap, self.first * self.factor ** min(steps, 60))

    def after(self, failures: int, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self.delay(failures))


# The outbox: 30 s after the first failed attempt, doubling, at most an hour.
OUTBOX_RETRY = Backoff(first=30, cap=3600)
# Telegram's long poll and the connect at start.
TELEGRAM_POLL = Backoff(first=0.5, cap=30)
# An IMAP connection that dropped, or a pass that failed. Never 0 s (a pass that fails on
# the same mail must not spin), and capped low: while the server is down the watcher also
# probes its port (bot/channels/email/receive/mailbox.py), so mail arriving after an outage
# is seen within seconds of the server's return, whatever the outage's length.
IMAP_RECONNECT = Backoff(first=1, cap=5)
