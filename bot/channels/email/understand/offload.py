"""Parsing off the event loop: raw mail -> parsed mail and its quote-stripped reply.

Parsing is pure CPU; on the event loop a slow mail stops SMTP, IMAP and Telegram alike.
Mails from `INLINE_BELOW` bytes up go to one worker process (the second core), created on
the first such mail. Measured (`bench/mail_hostile.py`, 2-core box under load): starting it
takes 0.7-1.7 s, once; a round trip adds ~0.5-1.5 ms plus pickling, about what a typical
7 KB mail costs to parse (~0.5-1 ms), so small mails stay inline, where the linear parser
and the size caps in parse.py keep even a hostile 32 KB mail to a few tens of ms.

`prepare` parses a batch before the intake opens its write transaction, so the database
is never locked while a mail is parsed; the processor then finds each mail ready.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
from collections.abc import Iterable
from dataclasses import dataclass, replace
from types import MappingProxyType

from bot.channels.email.understand.parse import ParsedMail, parse_mail
from bot.channels.email.understand.quotes import strip_quotes
from engine.inbox import InboundRow

log = logging.getLogger("ticketbot.email.parse")

INLINE_BELOW = 32 * 1024  # bytes of raw mail; see `bench/mail_hostile.py`


@dataclass(frozen=True, slots=True)
class Understood:
    """A parsed mail and its reply text without the quoted part."""

    mail: ParsedMail
    reply: str


def understand(raw: bytes) -> Understood:
    mail = parse_mail(raw)
    return Understood(mail, strip_quotes(mail.text, mail.html))


def _in_worker(raw: bytes) -> Understood:
    """In the worker process: a mapping proxy cannot be pickled, so headers go as a dict."""
    done = understand(raw)
    return replace(done, mail=replace(done.mail, headers=dict(done.mail.headers)))


def _restored(done: Understood) -> Understood:
    mail = done.mail
    return replace(done, mail=replace(mail, headers=MappingProxyType(dict(mail.headers))))


class MailParser:
    """Parses mail inline or in the worker process; keeps what `prepare` parsed."""

    def __init__(self, inline_below: int = INLINE_BELOW) -> None:
        self.inline_below = inline_below
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._ready: dict[int, Understood] = {}

    async def parse(self, raw: bytes) -> Understood:
        if len(raw) < self.inline_below:
            return understand(raw)
        try:
            done = await asyncio.get_running_loop().run_in_executor(self._workers(), _in_worker,
                                                                     raw)
        except concurrent.futures.BrokenExecutor:  # the worker died (killed, out of memory)
            log.warning("mail parser process died; starting a new one")
            self._pool = None
            done = await asyncio.get_running_loop().run_in_executor(self._workers(),
                                                                     _in_worker, raw)
        return _restored(done)

    async def prepare(self, rows: Iterable[InboundRow]) -> None:
        """Parse the rows now, for `of` to hand out; what a previous batch left is dropped.
        The big ones are sent to the worker first, so it parses while the loop does the rest."""
        self._ready = {}
        rows = list(rows)
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

    def _workers(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the service has threads (database drivers) a fork would copy
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def close(self) -> None:
        self._ready = {}
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
