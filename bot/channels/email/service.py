"""The email channel's services, for `bot/bootstrap.py`: `email_services(rt)`.

    SMTP/LMTP ingress   when `email.listen_port` is set (the default: 127.0.0.1:2525)
    IMAP watcher        when `[email.imap]` is configured
    processor           always: stored mail -> engine commands (woken by intake)
    sender              with `[email.smtp]`; without it a worker that leaves the rows
                        pending and says so once, so nothing is lost until a relay is set
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import CHANNEL, MailSender
from bot.channels.email.receive.ingress import IngressHandler, IngressService
from bot.channels.email.receive.mailbox import ImapService, MailboxSync
from bot.channels.email.understand.identity import MailIdentity
from bot.runtime import Runtime, Service

log = logging.getLogger("ticketbot.email")

PROCESS_SWEEP = 30.0   # seconds between sweeps for rows that failed and wait for a retry
SEND_POLL = 5.0        # rows enqueued by other channels (Telegram) wake nobody: poll


class Worker:
    """Runs `step` whenever woken, and at least every `every` seconds; a step that did
    something runs again at once (there may be more)."""

    def __init__(self, name: str, step: Callable[[], Awaitable[int]], every: float,
                 on_stop: Callable[[], Awaitable[None]] | None = None) -> None:
        self.name = name
        self.step = step
        self.every = every
        self.on_stop = on_stop
        self.rounds = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.on_stop is not None:
            await self.on_stop()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                did = await self.step()
            except Exception:  # a broken round must not end the worker
                log.exception("%s: round failed", self.name)
                did = 0
            self.rounds += 1
            if not did:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.every)
            _stop_if_cancelled()


def _stop_if_cancelled() -> None:
    """Python 3.11's wait_for drops a cancel that comes as its wait ends (and a task group
    whose task fails as it is cancelled raises that failure): `stop` would wait for ever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class NoRelay:
    """Without `[email.smtp]` mail stays in the outbox (pending, not lost) until configured."""

    name = "email-sender (no relay)"

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def start(self) -> None:
        pending = await self.rt.outbox.pending_count(CHANNEL)
        log.warning("no SMTP relay configured ([email.smtp]): outgoing mail stays queued "
                    "(%s waiting now)", pending)

    async def stop(self) -> None:
        return None


class EmailChannel:
    """The parts, wired: intake wakes the processor, the processor wakes the sender."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.identity = MailIdentity.of(rt.settings, rt.secret)
        smtp = rt.settings.email.smtp
        self.sender = None if smtp is None else MailSender(rt, smtp)
        self.send_worker = None if self.sender is None else \
            Worker("email-sender", self.sender.run_once, SEND_POLL)
        self.intake = MailIntake(rt, on_outbox=self._outbox_changed, keep_parser=True)
        self.processor = Worker("email-processor", self.intake.drain, PROCESS_SWEEP,
                                on_stop=self.intake.ctx.parser.close)
        self.ingress = self._ingress()
        self.imap = self._imap()

    def _outbox_changed(self) -> None:
        if self.send_worker is not None:
            self.send_worker.wake()

    def _ingress(self) -> IngressService | None:
        cfg = self.rt.settings.email
        if cfg.listen_port is None:
            return None
        handler = IngressHandler(self.rt.inbound, self.identity, self.rt.bus.clock,
                                 max_size=cfg.max_size, lmtp=cfg.lmtp,
                                 on_stored=self.processor.wake)
        return IngressService(handler, cfg.listen_host, cfg.listen_port)

    def _imap(self) -> ImapService | None:
        cfg = self.rt.settings.email
        if cfg.imap is None:
            return None
        sync = MailboxSync(cfg.imap, self.rt.inbound, cfg.max_size,
                           self.rt.bus.clock)
        return ImapService(sync, self.processor.wake)

    def services(self) -> list[Service]:
        """In start order: the processor and the sender first, so intake can wake them."""
        return [*self.workers(), *self.pollers()]

    def workers(self) -> list[Service]:
        """What every worker runs when several share one database."""
        found: list[Service | None] = [
            self.processor, self.send_worker or NoRelay(self.rt), self.ingress]
        return [s for s in found if s is not None]

    def pollers(self) -> list[Service]:
        """What only the leader runs (`bot/leader.py`): one IMAP session per mailbox."""
        return [] if self.imap is None else [self.imap]


def email_services(rt: Runtime) -> list[Service]:
    return EmailChannel(rt).services()
