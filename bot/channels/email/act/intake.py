"""The inbound queue: pending mail rows, in arrival order, through `MailProcessor`.

Rows go in batches that share one transaction (`Inbox.batch`): the whole batch commits, or,
if any mail in it fails or is refused by the engine, the batch is rolled back and done
again mail by mail, each in its own transactions. There a mail that keeps failing counts
its attempts and is quarantined after `max_attempts`, and never holds up the rows behind it.

The transaction is kept short, since on SQLite it holds the one write lock that the SMTP
intake needs to store a mail: the mails are parsed before it begins, and it commits once
it has run `HOLD_SECONDS`, leaving the rest of the rows for the next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.channels.email.act.fate import Fate
from bot.channels.email.act.process import (
    IncomingMail,
    MailContext,
    MailProcessor,
    clean_subject,
)
from bot.channels.email.act.session import Session, batched, direct
from bot.channels.email.receive import raw
from bot.runtime import Runtime
from engine.commands import IgnoreMail
from engine.inbox import InboundRow

__all__ = ["MailIntake", "clean_subject"]

log = logging.getLogger("ticketbot.email.intake")

MAX_ATTEMPTS = 5
BATCH = 100
# How long one batch may hold the write transaction before it commits what it has done:
# well below SQLite's busy timeout (5 s), which a waiting intake would otherwise hit.
HOLD_SECONDS = 0.5

ProcessorFactory = Callable[[MailContext, Session], MailProcessor]


class MailIntake:
    def __init__(self, rt: Runtime, *, max_attempts: int = MAX_ATTEMPTS, batch: int = BATCH,
                 on_outbox: Callable[[], None] = lambda: None,
                 processor: ProcessorFactory = MailProcessor,
                 hold_seconds: float = HOLD_SECONDS) -> None:
        self.rt = rt
        self.hold_seconds = hold_seconds
        self.ctx = MailContext.of(rt)
        self.max_attempts = max_attempts
        self.batch = batch
        self.on_outbox = on_outbox
        self.processor = processor

    async def drain(self) -> int:
        """Process every pending row once; rows that failed wait for the next drain."""
        handled, failed = 0, set[int]()
        read: dict[int, IncomingMail] = {}  # parsed, kept for the round that finishes them
        while True:
            pending = await self.rt.inbound.pending(raw.CHANNEL, self.batch + len(failed))
            rows = [r for r in pending if r.id not in failed]
            if not rows:
                return handled
            done = await self._in_one_transaction(rows, read)
            if done:
                handled += done
            else:
                for row in rows:
                    read.pop(row.id, None)
                    if await self.process(row):
                        handled += 1
                    else:
                        failed.add(row.id)
            self.on_outbox()

    async def _in_one_transaction(self, rows: list[InboundRow],
                                  read: dict[int, IncomingMail]) -> int:
        """How many of `rows` (from the first) were done in one transaction; 0 if it was
        rolled back. `read` holds the parsed mails, parsed here before the transaction."""
        outcomes: list[tuple[InboundRow, Fate]] = []
        loop = asyncio.get_running_loop()
        try:
            reader = self.processor(self.ctx, direct(self.rt))
            for row in rows:
                if row.id not in read:
                    read[row.id] = await reader.read(row)
            async with self.rt.inbound.batch(self.rt.bus.clock) as tx:
                started = loop.time()
                session = batched(self.rt, tx)
                worker = self.processor(self.ctx, session)
                for row in rows:
                    if outcomes and loop.time() - started > self.hold_seconds:
                        break  # the rest in the next transaction: others need the lock
                    outcome = await worker.handle(row, read[row.id])
                    await _record_ignored(session, row, outcome)
                    tx.finish(row.id, outcome.status, outcome.ticket, _reason(row, outcome),
                              outcome.rule)
                    outcomes.append((row, outcome))
        except Exception as exc:  # redone mail by mail, where failures are counted
            log.info("batch of %s mails rolled back (%s: %s); one by one now", len(rows),
                     type(exc).__name__, exc)
            return 0
        for row, outcome in outcomes:
            read.pop(row.id, None)
            _log(row, outcome)
        return len(outcomes)

    async def process(self, row: InboundRow) -> bool:
        """One mail in its own transactions; False if it failed (and was counted)."""
        try:
            session = direct(self.rt)
            outcome = await self.processor(self.ctx, session).handle(row)
            await _record_ignored(session, row, outcome)
        except Exception as exc:  # one bad mail must never stop the queue
            await self._failed(row, exc)
            return False
        await self.rt.inbound.finish(row.id, outcome.status, outcome.ticket,
                                     _reason(row, outcome), outcome.rule)
        _log(row, outcome)
        return True

    async def _failed(self, row: InboundRow, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        log.exception("inbound %s %s failed", row.id, row.external_id)
        attempts = await self.rt.inbound.record_failure(row.id, reason)
        if attempts >= self.max_attempts:
            await self.rt.inbound.quarantine(row.id, f"after {attempts} attempts: {reason}")
            log.error("inbound %s %s quarantined after %s attempts", row.id, row.external_id,
                      attempts)


async def _record_ignored(session: Session, row: InboundRow, outcome: Fate) -> None:
    """An ignored mail gets a `MailIgnored` desk event with its reason, so staff see every
    one in the event log; in a batch it joins the batch's transaction."""
    if outcome.status != "ignored":
        return
    await session.bus.handle(IgnoreMail(
        actor=outcome.person, channel=raw.CHANNEL, at=row.received_at,
        source_ref=row.external_id, inbound_id=row.id, reason=outcome.reason or "",
        rule=outcome.rule))


def _reason(row: InboundRow, outcome: Fate) -> str | None:
    """The processing's reason; a Message-ID collision noted at intake stays in front."""
    if row.reason and row.reason.startswith(raw.COLLISION):
        return "; ".join(r for r in (row.reason, outcome.reason) if r)[:2000]
    return outcome.reason


def _log(row: InboundRow, outcome: Fate) -> None:
    log.info("inbound %s %s: %s, ticket %s, rule %s (%s)", row.id, row.external_id,
             outcome.status, outcome.ticket, outcome.rule, outcome.reason)
