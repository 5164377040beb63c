"""Parsing off the event loop: raw mail -> parsed mail and its quote-stripped reply.

Parsing is pure CPU; on the event loop a slow mail stops SMTP, IMAP and Telegram alike.
A single mail from `INLINE_BELOW` bytes up goes to one worker process (the second core,
worker.py),
created on the first batch or big mail; a batch (`prepare`) goes there whole once the worker
has started, so the service uses both cores (bench/service.py). Measured (`bench/mail_hostile.py`, 2-core box under load): starting it
takes 0.7-1.7 s, once; a round trip adds ~0.5-1.5 ms plus pickling, about what a typical
7 KB mail costs to parse (~0.5-1 ms), so small mails stay inline, where the linear parser
and the size caps in parse.py keep even a hostile 32 KB mail to a few tens of ms.

`prepare` parses a batch before the intake opens its write transaction, so the database
is never locked while a mail is parsed; the processor then finds each mail ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from bot.channels.email.understand.jobs import Understood, understand
from bot.channels.email.understand.worker import Worker, WorkerDied
from engine.inbox import InboundRow

log = logging.getLogger("ticketbot.email.parse")

INLINE_BELOW = 32 * 1024  # bytes of raw mail; see `bench/mail_hostile.py`
# A batch goes to the worker in chunks: one round trip each, results back as they come.
CHUNK_MAILS = 16
CHUNK_BYTES = 512 * 1024


def _chunks(rows: list[InboundRow]) -> list[list[InboundRow]]:
    """Rows in chunks of at most CHUNK_MAILS mails or about CHUNK_BYTES of raw mail."""
    chunks: list[list[InboundRow]] = []
    size = 0
    for row in rows:
        if not chunks or len(chunks[-1]) >= CHUNK_MAILS or size >= CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(row)
        size += len(row.raw or b"")
    return chunks


# A mail parsed ahead: its chunk's round trip, and its place in the chunk.
_Ahead = tuple["asyncio.Future[list[Understood | None]]", int]


def _cancel(futures: Iterable[asyncio.Future[Any]]) -> None:
    for future in futures:
        future.cancel()


def _restored(done: Understood) -> Understood:
    mail = done.mail
    return replace(done, mail=replace(mail, headers=MappingProxyType(dict(mail.headers))))


class MailParser:
    """Parses mail inline or in the worker process; keeps what `prepare` parsed."""

    def __init__(self, inline_below: int = INLINE_BELOW) -> None:
        self.inline_below = inline_below
        self.offloaded = 0  # mails parsed in the worker process so far
        self._worker = Worker()
        self._warming: asyncio.Future[None] | None = None
        self._ready: dict[int, Understood] = {}
        self._ahead: dict[int, _Ahead] = {}  # the next batch, being parsed in the worker

    async def parse(self, raw: bytes) -> Understood:
        if len(raw) < self.inline_below:
            return understand(raw)
        try:
            done = await self._submit("one", raw)
        except WorkerDied:  # killed, out of memory: the next call starts a new one
            log.warning("mail parser process died; starting a new one")
            done = await self._submit("one", raw)
        self.offloaded += 1
        return _restored(done)

    async def prepare(self, rows: Iterable[InboundRow], *,
                      then: Iterable[InboundRow] = ()) -> None:
        """Parse the rows now, for `of` to hand out; what a previous batch left is dropped.
        Once the worker runs, every mail of the batch goes to it in chunks (one round trip
        per chunk), so the event loop keeps serving SMTP, IMAP, Telegram and the database
        while the second core parses. Until it has started (the first batch), the small
        mails are parsed here, as single mails always are.

        `then` is the next batch: the worker starts on it as soon as this one is parsed, so
        it parses batch N+1 while the loop processes batch N (without it the two cores
        took turns); the next `prepare` collects it."""
        rows, then = list(rows), list(then)
        ahead, self._ahead = self._ahead, {}
        self._ready = {}
        try:
            if self._warm():
                await self._collect(ahead, rows)
                chunks = _chunks([r for r in rows if r.id not in self._ready])
                try:
                    await self._prepare_chunks(chunks)
                    # A batch that committed early asks again for the same next rows:
                    # what is already on its way stays so.
                    self._ahead = {r.id: ahead[r.id] for r in then if r.id in ahead}
                    self._start_ahead([r for r in then if r.id not in self._ahead])
                    return
                except WorkerDied:
                    log.warning("mail parser process died; starting a new one")
                    self._warming = None
            await self._prepare_apart([r for r in rows if r.id not in self._ready])
        finally:
            kept = {id(future) for future, _ in self._ahead.values()}
            _cancel(future for future, _ in ahead.values() if id(future) not in kept)

    async def _collect(self, ahead: dict[int, _Ahead], rows: list[InboundRow]) -> None:
        """What the worker parsed ahead for these rows; a mail it failed is parsed again."""
        for row in rows:
            if row.id not in ahead:
                continue
            future, index = ahead[row.id]
            with contextlib.suppress(WorkerDied):
                done = (await future)[index]
                if done is not None:
                    self._ready[row.id] = _restored(done)
                    self.offloaded += 1

    def _start_ahead(self, rows: list[InboundRow]) -> None:
        for chunk in _chunks(rows):
            future = self._submit("many", [r.raw or b"" for r in chunk])
            for index, row in enumerate(chunk):
                self._ahead[row.id] = (future, index)

    async def started(self) -> None:
        """Until the worker process answers (it starts on the first batch anyway)."""
        self._warm()
        assert self._warming is not None
        await self._warming

    def _warm(self) -> bool:
        """Whether the worker has answered once; the first call starts it."""
        if self._warming is None:
            self._warming = self._submit("ping", None)
        return self._warming.done() and self._warming.exception() is None

    async def _prepare_chunks(self, chunks: list[list[InboundRow]]) -> None:
        parsing = [self._submit("many", [r.raw or b"" for r in chunk])
                   for chunk in chunks]
        try:
            for chunk, future in zip(chunks, parsing, strict=True):
                for row, done in zip(chunk, await future, strict=True):
                    if done is None:  # parsed again by `of`, where failures are counted
                        log.warning("inbound %s: parsing failed in the worker", row.id)
                    else:
                        self._ready[row.id] = _restored(done)
                        self.offloaded += 1
        finally:
            _cancel(parsing)

    async def _prepare_apart(self, rows: list[InboundRow]) -> None:
        """The big ones are sent to the worker first, so it parses while the loop does the
        rest."""
        big = {row.id: asyncio.ensure_future(self.parse(row.raw or b"")) for row in rows
               if len(row.raw or b"") >= self.inline_below}
        try:
            for row in rows:
                if row.id not in big:
                    self._ready[row.id] = understand(row.raw or b"")
                    await asyncio.sleep(0)  # let the loop serve between mails
            for row_id, parsing in big.items():
                try:
                    self._ready[row_id] = await parsing
                except Exception as exc:  # parsed again by `of`, where failures are counted
                    log.warning("inbound %s: parsing failed (%s)", row_id, type(exc).__name__)
        finally:
            for parsing in big.values():
                parsing.cancel()

    async def of(self, row: InboundRow) -> Understood:
        """The row's mail, prepared or parsed now."""
        ready = self._ready.get(row.id)  # kept: a batch that fails is redone mail by mail
        return ready if ready is not None else await self.parse(row.raw or b"")

    def _submit(self, job: str, argument: object) -> asyncio.Future[Any]:
        """The job on its way to the worker process (started by the first one)."""
        return asyncio.ensure_future(self._worker.call(job, argument))

    @property
    def worker_pid(self) -> int | None:
        """The worker process's pid while it runs."""
        return self._worker.pid

    async def close(self) -> None:
        self._ready = {}
        _cancel(future for future, _ in self._ahead.values())
        self._ahead = {}
        self._warming = None
        await self._worker.close()
