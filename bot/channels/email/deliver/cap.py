"""The brake on automatic mail per recipient (acks, "you are in copy", answers to mail
commands): it stops mail loops without losing the acks of distinct new requests.

Counted by when the mail we answer arrived, from the outbox table (so every sender process,
a cron `mail send --once` included, sees the same count), over `window`:

- a loop: an auto-responder answers our mail and we answer it. Its mail arrives after ours
  went out, so `limit` automatic mails sent to the address in the window before this
  mail arrived stop the answer ("loop");
- a backlog: many distinct requests that arrived before we answered any. The first `limit`
  acks go out one by one; the acks beyond them go out as ONE ack that lists the tickets
  ("group"), never dropped. Other automatic kinds beyond the limit are not sent ("cap").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from engine.notify.kinds import NoticeKind
from engine.outbox import OutboxQueue, OutboxRow

WINDOW = dt.timedelta(hours=1)
Verdict = Literal["send", "group", "loop", "cap"]


def arrived_at(row: OutboxRow) -> dt.datetime:
    """When the mail this row answers arrived: the event's time, else the row's."""
    at = row.payload.get("event_at")
    if isinstance(at, str):
        try:
            return dt.datetime.fromisoformat(at)
        except ValueError:
            pass
    return row.created_at


@dataclass
class _Recipient:
    sent: list[tuple[dt.datetime, dt.datetime]]  # (sent_at, arrived_at), from the database
    planned: list[dt.datetime] = field(default_factory=list)  # arrivals sent in this batch


class AutoMailCap:
    def __init__(self, outbox: OutboxQueue, channel: str, kinds: frozenset[NoticeKind],
                 limit: int, window: dt.timedelta = WINDOW) -> None:
        self.outbox = outbox
        self.channel = channel
        self.kinds = kinds
        self.limit = limit
        self.window = window

    async def verdicts(self, rows: Sequence[OutboxRow]) -> dict[int, Verdict]:
        """The verdict of each automatic row on its first attempt, in row order (a retry is
        the same mail as its first attempt, already counted)."""
        counted = [r for r in rows if r.kind in self.kinds and r.attempts <= 1]
        seen = await self._histories(counted)
        return {row.id: self._verdict(row, seen[row.recipient.lower()]) for row in counted}

    async def _histories(self, rows: Sequence[OutboxRow]) -> dict[str, _Recipient]:
        """Per recipient (lower-cased), what was sent to it as its first row in `rows`
        spells it: one read for the whole batch."""
        first: dict[str, str] = {}
        for row in rows:
            first.setdefault(row.recipient.lower(), row.recipient)
        if not first:
            return {}
        since = min(arrived_at(r) for r in rows) - self.window
        sent = await self.outbox.sent_to_any(self.channel, list(first.values()),
                                             sorted(self.kinds), since)
        found: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        for r in sent:
            if r.sent_at is not None:
                found[r.recipient].append((r.sent_at, arrived_at(r)))
        return {key: _Recipient(found.get(spelled, [])) for key, spelled in first.items()}

    def _verdict(self, row: OutboxRow, history: _Recipient) -> Verdict:
        arrived = arrived_at(row)
        start = arrived - self.window

        def within(at: dt.datetime) -> bool:
            return start < at <= arrived

        before_it = sum(within(sent_at) for sent_at, _ in history.sent)
        if before_it >= self.limit:
            return "loop"
        burst = sum(within(at) for _, at in history.sent) + sum(map(within, history.planned))
        if burst < self.limit:
            history.planned.append(arrived)
            return "send"
        return "group" if row.kind is NoticeKind.ACK else "cap"


def grouped(rows: Sequence[OutboxRow], verdicts: dict[int, Verdict]) -> list[list[OutboxRow]]:
    """The rows to go out as one ack, per recipient, in row order."""
    by_recipient: dict[str, list[OutboxRow]] = defaultdict(list)
    for row in rows:
        if verdicts.get(row.id) == "group":
            by_recipient[row.recipient.lower()].append(row)
    return list(by_recipient.values())
