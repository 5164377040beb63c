"""The outbound worker: claims `email` outbox rows, renders and sends them (aiosmtplib, over
`[email.smtp] connections` relay connections at once, relay.py: opened per batch; `mail send
--once` keeps them for all its batches and makes the next batch ready while one is sent,
`drain`), and marks each sent, retried later, or given up.

A batch costs the claim, one read of the suppressed addresses and one of the automatic
mails already sent, one snapshot to render every row in, one write of the Message-IDs
about to go out, and a write of how the rows ended (`mark_all`) for every `MARK_EVERY`
mails the relay took: not two transactions per row.

Never twice: a row is claimed under a short lease, renewed while the batch is worked on
(bot/outbox_lease.py: a killed worker's rows go to another within a minute), and marked
sent about `MARK_EVERY` mails after the relay took it; its Message-ID is derived from the
row id, so the unavoidable copies (a crash after the relay's 250 and before the marks: about
`MARK_EVERY` mails, and a mail or two more per further connection, which go on while the
marks are written) carry the same Message-ID and are dropped by receivers that deduplicate.
Mails to one recipient go in row order over one connection; a connection that fails leaves
its mails for a retry while the others go on. Loop safety: nothing to our own or no-reply
addresses or to an address that bounced, and the automatic-mail cap per recipient (cap.py:
stops loops; acks of a backlog beyond it go out as one ack listing the tickets).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.contentmanager
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

import aiosmtplib

from bot.attachments import file_bytes
from bot.channels.email.deliver.cap import AutoMailCap, Verdict, grouped
from bot.channels.email.deliver.flatten import constant
from bot.channels.email.deliver.relay import Relay, hand, smtp_client
from bot.channels.email.deliver.render import AUTO_REPLIED, Rendered, Renderer, Skip
from bot.channels.email.deliver.subject import set_subject
from bot.channels.email.understand.identity import LOOP_HEADER, MailIdentity, is_no_reply
from bot.i18n import t
from bot.outbox_lease import LeaseKeeper
from bot.runtime import Runtime
from config.settings import SmtpConfig
from engine.model import one_line
from engine.outbox import Mark, OutboxRow, next_retry
from engine.ports import Clock
from engine.views import Reading

log = logging.getLogger("ticketbot.email.sender")

CHANNEL = "email"
BATCH = 50
# `mail send --once` drains a queue: a batch's fixed costs (the claim, the reads of the cap's
# history, of the suppressed addresses and of the tickets) over more mails: a sixth less CPU
# per mail than batches of 50. The lease and the marks do not depend on it.
DRAIN_BATCH = 200
# Mails the relay took before their rows are marked sent: what a kill -9 can make go out a
# second time (same Message-ID), against one write transaction per that many mails.
MARK_EVERY = 10
MAX_ATTEMPTS = 12            # with the 30 s .. 1 h backoff: about 8 hours of retries
_AFTER_CONTENT = frozenset({"Content-Language"})
_SHORT = 78  # a header line the policy never refolds


@dataclass(frozen=True)
class Built:
    message: EmailMessage
    meta: dict[str, Any]


@dataclass(frozen=True)
class Outgoing:
    """One mail to send and the outbox rows it settles (several for a grouped ack)."""

    rows: tuple[OutboxRow, ...]
    built: Built

    @property
    def row(self) -> OutboxRow:
        return self.rows[0]


def _put(m: EmailMessage, name: str, value: str) -> None:
    """`m[name] = value`, without parsing a value that is short plain ASCII (the library's
    header parsing was a third of the CPU an ack cost): such a value is written as it is,
    as the parsed one would be. A line break is refused as `m[name] = value` refuses it."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} contains a line break: {value!r}")
    if value.isascii() and len(name) + len(value) + 2 <= _SHORT and value.isprintable():
        m.set_raw(name, value)
    else:
        m[name] = value


# The library's choice of transfer encoding and the body in it (7bit, 8bit, or for long
# lines quoted-printable or base64), as set_content makes them.
_encode_text: Callable[[str, str, str | None, Any], tuple[str, str]] = \
    email.contentmanager._encode_text  # type: ignore[attr-defined]


def _set_text(m: EmailMessage, text: str) -> None:
    """`m.set_content(text)` on a message without Content-* headers: the same headers and
    body the library makes, without its header parsing (most of what building an ack
    cost): the headers are parsed once per process."""
    cte, body = _encode_text(text, "utf-8", None, m.policy)
    # set_raw: what `m[name] = header` stores, without its check that the header is not
    # there yet (it is not), which makes a new header class each time.
    m.set_raw("Content-Type", constant(m.policy, "Content-Type", 'text/plain; charset="utf-8"'))
    m.set_raw("Content-Transfer-Encoding", constant(m.policy, "Content-Transfer-Encoding", cte))
    m.set_raw("MIME-Version", "1.0")
    m.set_payload(body)


__all__ = ["CHANNEL", "MailSender", "smtp_client"]  # smtp_client: for bot/doctor


def _recipients(rows: list[OutboxRow]) -> frozenset[str]:
    return frozenset(row.recipient.lower() for row in rows)


def _permanent(exc: Exception) -> bool:
    """A 5xx from the relay will not get better by retrying."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500


class MailSender:
    def __init__(self, rt: Runtime, cfg: SmtpConfig, *, clock: Clock | None = None,
                 batch: int = BATCH,
                 lease_tick: Callable[[], Awaitable[None]] | None = None) -> None:
        self.rt = rt
        self.cfg = cfg
        self.clock = clock or rt.bus.clock
        self.batch = batch
        self.identity = MailIdentity.of(rt.settings, rt.secret)
        self.renderer = Renderer(rt.settings)
        self.cap = AutoMailCap(rt.outbox, CHANNEL, AUTO_REPLIED,
                               rt.settings.email.auto_reply_limit)
        self._held: set[int] = set()
        self.lease = LeaseKeeper(rt.outbox, self.clock, lambda: self._held, tick=lease_tick)
        self._marks: list[Mark] = []
        self._unmarked = 0  # mails the relay took since the marks were last written
        self._marking = asyncio.Lock()  # one write of the marks at a time
        self._suppressed: frozenset[str] = frozenset()
        self.relay = Relay(cfg)
        self._keep_open = False
        self._sending: asyncio.Task[None] | None = None  # drain: the batch being sent
        self._sending_to: frozenset[str] = frozenset()  # and who it writes to

    @contextlib.asynccontextmanager
    async def connection_kept(self) -> AsyncIterator[None]:
        """Every batch run meanwhile goes over the same relay connections (`mail send
        --once` drains the queue so); the service's worker connects per batch, as a relay
        may drop a connection idle between them."""
        self._keep_open = True
        try:
            yield
        finally:
            self._keep_open = False
            await self.relay.close()

    async def run_once(self) -> int:
        """Claim and deliver one batch; the number of rows claimed."""
        rows = await self.rt.outbox.claim(CHANNEL, self.clock.now(), self.batch,
                                          self.lease.lease)
        if not rows:
            return 0
        self._held = {row.id for row in rows}
        try:
            async with self.lease.kept():
                try:
                    await self._deliver(rows)
                finally:
                    await self._write_marks()
        finally:
            self._held = set()
        return len(rows)

    async def _write_marks(self) -> None:
        async with self._marking:
            marks, self._marks, self._unmarked = self._marks, [], 0
            if marks:
                await self.rt.outbox.mark_all(self.clock.now(), marks)

    async def drain(self) -> int:
        """Every due row, batch after batch, as `mail send --once` sends the queue; the
        number of rows claimed. The next batch is claimed and made ready while the one
        before it is sent (our work beside the relay's), unless it writes to someone that
        batch does: the cap must count what went to them first (cap.py)."""
        total = 0
        async with self.connection_kept(), self.lease.kept():
            try:
                while rows := await self.rt.outbox.claim(CHANNEL, self.clock.now(),
                                                         self.batch, self.lease.lease):
                    total += len(rows)
                    self._held |= {row.id for row in rows}
                    if _recipients(rows) & self._sending_to:
                        await self._sent()
                    ready = await self._ready(rows)
                    await self._sent()  # one batch at a time over the connections
                    self._sending = asyncio.create_task(self._send_batch(rows, ready))
                    self._sending_to = _recipients(rows)
            finally:
                await self._sent()
                await self._write_marks()
                self._held = set()
        return total

    async def _sent(self) -> None:
        """Waits for the batch being sent, if any, to be sent and marked."""
        sending, self._sending, self._sending_to = self._sending, None, frozenset()
        if sending is not None:
            await sending

    async def _send_batch(self, rows: list[OutboxRow], ready: list[Outgoing]) -> None:
        try:
            if ready:
                await self._send_all(ready)
        finally:
            await self._write_marks()
            self._held -= {row.id for row in rows}

    async def _deliver(self, rows: list[OutboxRow]) -> None:
        ready = await self._ready(rows)
        if ready:
            await self._send_all(ready)

    async def _ready(self, rows: list[OutboxRow]) -> list[Outgoing]:
        """The mails to send for `rows`; each row that will not go is marked."""
        verdicts = await self.cap.verdicts(rows)
        self._suppressed = await self.rt.inbound.suppressed()
        async with self.rt.views.reading() as view:
            await view.preload({r.ticket for r in rows if r.ticket is not None},
                               {p for r in rows for p in (r.person_id, r.payload.get("actor"))
                                if isinstance(p, int)})
            ready = [Outgoing((row,), built) for row in rows if verdicts.get(row.id) != "group"
                     and (built := await self._prepared(row, view,
                                                        verdicts.get(row.id, "send")))]
            for acks in grouped(rows, verdicts):
                built = await self._prepared_group(acks, view)
                if built is not None:
                    ready.append(Outgoing(tuple(acks), built))
        return ready

    async def preview(self, row: OutboxRow) -> dict[str, Any] | None:
        """The headers a queued row would be sent with now, as `meta` records them once sent
        (`ticketbot export` shows them before a relay is configured); None if it would be
        skipped. Nothing is claimed, sent or counted."""
        async with self.rt.views.reading() as view:
            rendered = await self.renderer.render(row, view)
        return None if isinstance(rendered, Skip) else self._build(row, rendered).meta

    # ------------------------------------------------------------ deciding and building

    async def _prepared(self, row: OutboxRow, view: Reading,
                        verdict: Verdict = "send") -> Built | None:
        """The row ready to send, or None once it is marked: one row that cannot be rendered
        or built is set aside on its own and never holds back the rows claimed with it."""
        try:
            return await self._prepare(row, view, verdict)
        except (ValueError, TypeError, UnicodeError) as exc:
            # The message itself cannot be made (a header with a line break in it, a
            # payload that does not encode): no retry will change that.
            self._failed(row, exc, permanent=True)
        except Exception as exc:  # a storage hiccup while rendering: retried, bounded
            log.exception("outbox %s could not be prepared", row.id)
            self._failed(row, exc, permanent=False)
        return None

    async def _prepared_group(self, acks: list[OutboxRow], view: Reading) -> Built | None:
        """One ack listing the tickets of `acks` (one recipient), or None once they are
        marked."""
        first = acks[0]
        try:
            reason = self._refuse(first)
            if reason is None:
                rendered = await self.renderer.render_acks(acks, view)
                # Signed for no single ticket: the listed tags say which is which.
                return self._build(replace(first, ticket=None), rendered)
        except Exception as exc:
            log.exception("grouped ack %s could not be prepared", first.id)
            reason = f"{type(exc).__name__}: {exc}"
        for row in acks:
            self._give_up(row, f"skipped: {reason}")
        return None

    async def _prepare(self, row: OutboxRow, view: Reading, verdict: Verdict) -> Built | None:
        reason = self._refuse(row) or self._capped(row, verdict)
        rendered = Skip(reason) if reason else await self.renderer.render(row, view)
        if isinstance(rendered, Skip):
            self._give_up(row, f"skipped: {rendered.reason}")
            return None
        return self._build(row, await self._with_bytes(rendered))

    def _refuse(self, row: OutboxRow) -> str | None:
        to = row.recipient
        if "@" not in to:
            return f"not a mail address: {to!r}"
        if self.identity.is_own(to):
            return "our own address"
        if is_no_reply(to):
            return "a no-reply address"
        if to.strip().lower() in self._suppressed:  # read once per batch (_deliver)
            return "the address bounced before"
        return None

    def _capped(self, row: OutboxRow, verdict: Verdict) -> str | None:
        limit, to = self.cap.limit, row.recipient
        if verdict == "loop":
            return (f"loop brake: {limit} automatic mails went to {to} within the hour "
                    "before the mail this answers arrived")
        if verdict == "cap":
            return f"more than {limit} automatic mails to {to} within an hour"
        return None

    async def _with_bytes(self, r: Rendered) -> Rendered:
        """A ticket is read without its files' bytes; the mail fetches them by id (a
        refused file has none and is not attached)."""
        files = []
        for f in r.attachments:
            data = await file_bytes(self.rt.views, f)
            if f.refused is None and data is not None:
                files.append(replace(f, data=data))
        return replace(r, attachments=tuple(files))

    def _build(self, row: OutboxRow, r: Rendered) -> Built:
        ident = self.identity
        m = EmailMessage()
        headers = {
            "From": formataddr((t(row.language, "mail.from_name"), r.sender or ident.address)),
            "To": row.recipient, "Subject": one_line(r.subject),
            "Message-ID": ident.message_id(row.id, row.ticket, row.person_id, row.created_at),
            "Date": format_datetime(self.clock.now()),
            "Reply-To": ident.reply_to(row.ticket, row.person_id),
            "In-Reply-To": r.in_reply_to, "References": " ".join(r.references) or None,
            "Auto-Submitted": r.auto_submitted, "X-Auto-Response-Suppress": "All",
            LOOP_HEADER: ident.loop_value, "Content-Language": row.language,
        }
        for name, value in headers.items():
            if name == "Subject" and value:
                set_subject(m, value)
            elif value and name not in _AFTER_CONTENT:
                _put(m, name, value)
        _set_text(m, r.text)
        for f in r.attachments:
            maintype, _, subtype = f.content_type.partition("/")
            m.add_attachment(f.data, maintype=maintype or "application",
                             subtype=subtype or "octet-stream", filename=f.filename)
        # set_content and add_attachment drop or move every Content-* header: set it last.
        _put(m, "Content-Language", row.language)
        meta = {k.lower(): v for k, v in headers.items() if v}
        return Built(m, meta)

    # ------------------------------------------------------------ sending

    async def _send_all(self, ready: list[Outgoing]) -> None:
        # Before sending: a reply may come back faster than the batch's marks are written.
        await self.rt.outbox.record_sent_refs(
            [(out.built.meta["message-id"], out.row.ticket) for out in ready
             if len(out.rows) == 1 and out.row.ticket is not None])
        # Per recipient, in row order: a connection takes a recipient's mails in turn.
        by_recipient: dict[str, list[Outgoing]] = {}
        for out in ready:
            by_recipient.setdefault(out.row.recipient.lower(), []).append(out)
        waiting = collections.deque(by_recipient.values())
        failures: list[Exception] = []
        try:
            async with asyncio.TaskGroup() as lanes:
                for lane in range(min(self.relay.size, len(waiting))):
                    lanes.create_task(self._lane(lane, waiting, failures))
        except BaseExceptionGroup as group:  # a storage failure while marking: as it was
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from group  # cancelled meanwhile: still so
            raise group.exceptions[0] from None
        finally:
            if not self._keep_open:
                await self.relay.close()
        for outs in waiting:  # every connection failed: retried
            for out in outs:
                self._retry_all(out, failures[-1])

    async def _lane(self, lane: int, waiting: collections.deque[list[Outgoing]],
                    failures: list[Exception]) -> None:
        """One connection's share: it takes the next recipient's mails until none wait."""
        outs: list[Outgoing] = []
        try:
            smtp = await self.relay.connected(lane)
            while waiting:
                outs = waiting.popleft()
                while outs:
                    await self._send(smtp, outs[0])
                    outs.pop(0)
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The connection itself failed (refused, dropped, login): not the rows' fault,
            # so its mails not yet handled are retried, whatever the reply code; the other
            # connections go on with the rest.
            log.warning("SMTP relay %s:%s: %s", self.cfg.host, self.cfg.port, exc)
            failures.append(exc)
            await self.relay.drop(lane)
            for out in outs:
                self._retry_all(out, exc)

    def _retry_all(self, out: Outgoing, exc: Exception) -> None:
        for row in out.rows:
            self._failed(row, exc, permanent=False)

    async def _send(self, smtp: aiosmtplib.SMTP, out: Outgoing) -> None:
        row, built = out.row, out.built
        try:
            await hand(smtp, built.message, self.identity.address, row.recipient)
        except aiosmtplib.SMTPServerDisconnected:
            raise
        except aiosmtplib.SMTPException as exc:
            for each in out.rows:
                self._failed(each, exc, permanent=_permanent(exc))
            return
        except (ValueError, TypeError, UnicodeError) as exc:  # the message won't serialize
            for each in out.rows:
                self._failed(each, exc, permanent=True)
            return
        meta = built.meta if len(out.rows) == 1 else \
            {**built.meta, "grouped": [r.id for r in out.rows]}
        self._marks.extend(Mark(each.id, sent=True, meta=meta) for each in out.rows)
        log.info("sent %s #%s to %s as %s", row.kind,
                 ", #".join(str(r.ticket) for r in out.rows), row.recipient,
                 built.meta["message-id"])
        self._unmarked += 1
        if self._unmarked >= MARK_EVERY:
            await self._write_marks()

    def _failed(self, row: OutboxRow, exc: Exception, *, permanent: bool) -> None:
        error = f"{type(exc).__name__}: {exc}"[:500]
        if permanent or row.attempts >= MAX_ATTEMPTS:
            self._give_up(row, error)
            return
        retry = next_retry(row.attempts, self.clock.now())
        self._marks.append(Mark(row.id, sent=False, error=error, retry_at=retry))
        log.info("outbox %s to %s failed (%s), retry at %s", row.id, row.recipient, error,
                 retry.isoformat())

    def _give_up(self, row: OutboxRow, reason: str) -> None:
        self._marks.append(Mark(row.id, sent=False, error=reason))
        log.warning("outbox %s (%s to %s) given up: %s", row.id, row.kind, row.recipient,
                    reason)
