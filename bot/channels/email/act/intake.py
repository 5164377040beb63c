"""The inbound queue: pending mail rows, in arrival order, through `MailProcessor`.

Rows go in batches that share one transaction (`Inbox.batch`): the whole batch commits, or,
if any mail in it fails or is refused by the engine, the batch is rolled back and done
again mail by mail, each in its own transactions. There a mail that keeps failing counts
its attempts and is quarantined after `max_attempts`, and never holds up the rows behind it.

Several workers may drain one PostgreSQL queue: a batch claims its rows first, and a mail
redone on its own is claimed again (`Inbox.claim`), so each mail is processed by one worker;
rows another worker holds are left to it for this drain.

The transaction is kept short, since on SQLite it holds the one write lock that the SMTP
intake needs to store a mail: the mails are parsed before it begins, and it commits once
it has run `HOLD_SECONDS`, or `YIELD_AFTER` when another writer waits for the database (an
SMTP intake storing a mail: its `250` waits for that commit), leaving the rest of the rows for
the next round.
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
BATCH = 32  # rows read at once, raw mail and all: memory (bench/service.py), not speed
BATCH_BYTES = 4 * 1024 * 1024  # raw mail per batch: its parsed mails are held until it ends
# How long one batch may hold the write transaction before it commits what it has done:
# well below SQLite's busy timeout (5 s), which a waiting intake would otherwise hit.
HOLD_SECONDS = 0.5
# A batch another writer waits for (the SMTP intake storing a mail) commits once it has
# held the lock this long: sooner, and the processor pays a commit and a new batch per mail.
YIELD_AFTER = 0.05

ProcessorFactory = Callable[[MailContext, Session], MailProcessor]


class MailIntake:
    def __init__(self, rt: Runtime, *, max_attempts: int = MAX_ATTEMPTS, batch: int = BATCH,
                 on_outbox: Callable[[], None] = lambda: None,
                 processor: ProcessorFactory = MailProcessor,
                 hold_seconds: float = HOLD_SECONDS, keep_parser: bool = False) -> None:
        self.rt = rt
        # The service keeps its parser process between drains (and stops it when it stops);
        # anyone else (cron, the CLI, a test) has it stopped when the drain ends.
        self.keep_parser = keep_parser
        self.hold_seconds = hold_seconds
        self.ctx = MailContext.of(rt)
        self.max_attempts = max_attempts
        self.batch = batch
        self.on_outbox = on_outbox
        self.processor = processor

    async def drain(self) -> int:
        """Process every pending row once; rows that failed wait for the next drain."""
        try:
            return await self._drain()
        finally:
            if not self.keep_parser:
                await self.ctx.parser.close()

    async def _drain(self) -> int:
        handled, passed = 0, set[int]()  # passed: failed here, or held by another worker
        read: dict[int, IncomingMail] = {}  # parsed, kept for the round that finishes them
        left: list[InboundRow] = []  # read, not yet done: a transaction that let a writer in
        while True:
            if len(left) < 2 * self.batch:  # this batch and the next, parsed meanwhile
                left += await self._more(left, passed)
            rows = _up_to_bytes(left[:self.batch], BATCH_BYTES)
            if not rows:
                return handled
            after = _up_to_bytes(left[len(rows):len(rows) + self.batch], BATCH_BYTES)
            # Parsed before the write transaction opens (in a worker process), so neither
            # the event loop nor the database waits for a slow mail; the worker parses the
            # next batch while this one is processed.
            await self.ctx.parser.prepare([r for r in rows if r.id not in read],
                                          then=[r for r in after if r.id not in read])
            done = await self._in_one_transaction(rows, passed, read)
            if done is not None:
                handled += len(done)
                # Not re-read: a batch that commits early to let the SMTP intake store a
                # mail would otherwise read the same raw mails again and again.
                left = [r for r in left if r.id not in done and r.id not in passed]
            else:
                left = []
                for row in rows:
                    read.pop(row.id, None)
                    if await self._claimed(row):
                        handled += 1
                    else:
                        passed.add(row.id)
            self.on_outbox()

    async def _more(self, left: list[InboundRow], passed: set[int]) -> list[InboundRow]:
        """The pending rows after those already read, up to two batches in all."""
        after = left[-1].id if left else 0
        pending = await self.rt.inbound.pending(raw.CHANNEL, 2 * self.batch - len(left)
                                                + len(passed), after=after)
        return [r for r in pending if r.id not in passed]

    async def _claimed(self, row: InboundRow) -> bool:
        """`process` while holding the row; False when another worker has it (or had it)."""
        async with self.rt.inbound.claim(row.id) as ours:
            return ours and await self.process(row)

    async def _in_one_transaction(self, rows: list[InboundRow], passed: set[int],
                                  read: dict[int, IncomingMail]) -> set[int] | None:
        """The ids of the `rows` done in one transaction, or None when it was rolled back. Those another worker holds go to `passed`; `read` holds the
        parsed mails, read here before the transaction."""
        outcomes: list[tuple[InboundRow, Fate]] = []
        loop = asyncio.get_running_loop()
        try:
            reader = self.processor(self.ctx, direct(self.rt))
            for row in rows:
                if row.id not in read:
                    read[row.id] = await reader.read(row)
            async with self.rt.inbound.batch(self.rt.bus.clock) as tx:
                held = await tx.claim([r.id for r in rows])
                passed.update(r.id for r in rows if r.id not in held)
                # Each mail asks whether its Message-ID was applied before (a replay): one
                # query for the whole batch.
                await tx.preload_refs([r.external_id for r in rows if r.id in held])
                started = loop.time()
                session = batched(self.rt, tx)
                worker = self.processor(self.ctx, session)
                for row in (r for r in rows if r.id in held):
                    held_for = loop.time() - started
                    if outcomes and (held_for > self.hold_seconds
                                     or (held_for > YIELD_AFTER and tx.contended())):
                        break  # the rest in the next transaction: others need the lock
                    outcome = await worker.handle(row, read[row.id])
                    await _record_ignored(session, row, outcome)
                    tx.finish(row.id, outcome.status, outcome.ticket, _reason(row, outcome),
                              outcome.rule)
                    outcomes.append((row, outcome))
        except Exception as exc:  # redone mail by mail, where failures are counted
            log.info("batch of %s mails rolled back (%s: %s); one by one now", len(rows),
                     type(exc).__name__, exc)
            return None
        for row, outcome in outcomes:
            read.pop(row.id, None)
            _log(row, outcome)
        return {row.id for row, _ in outcomes}

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


def _up_to_bytes(rows: list[InboundRow], limit: int) -> list[InboundRow]:
    """The first rows whose raw mail adds up to `limit` bytes, and always the first."""
    taken: list[InboundRow] = []
    size = 0
    for row in rows:
        size += len(row.raw or b"")
        if taken and size > limit:
            break
        taken.append(row)
    return taken


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
