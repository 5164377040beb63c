"""The outbound worker: claims `email` outbox rows, renders and sends them (aiosmtplib, one
connection per batch), and marks each sent, retried later, or given up.

Never twice: a row is claimed under a lease and marked sent right after the server took it;
its Message-ID is derived from the row id, so the one unavoidable duplicate (a crash after
the relay's 250 and before `mark_sent`) carries the same Message-ID and is dropped by
receivers that deduplicate. Loop safety: nothing to our own or no-reply addresses or to an
address that bounced, and at most `auto_reply_limit` automatic answers per recipient per hour.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict, deque
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

import aiosmtplib

from bot.channels.email.deliver.render import AUTO_REPLIED, Rendered, Renderer, Skip
from bot.channels.email.deliver.subject import set_subject
from bot.channels.email.understand.identity import LOOP_HEADER, MailIdentity, is_no_reply
from bot.i18n import t
from bot.runtime import Runtime
from config.settings import SmtpConfig
from engine.model import one_line
from engine.outbox import OutboxRow, next_retry
from engine.ports import Clock

log = logging.getLogger("ticketbot.email.sender")

CHANNEL = "email"
BATCH = 50
LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 12            # with the 30 s .. 1 h backoff: about 8 hours of retries
CAP_WINDOW = dt.timedelta(hours=1)
TIMEOUT = 30.0
_AFTER_CONTENT = frozenset({"Content-Language"})


@dataclass(frozen=True)
class Built:
    message: EmailMessage
    meta: dict[str, Any]


class AutoReplyCap:
    """Automatic answers per recipient in a sliding hour (a mail loop's brake). Kept in
    memory: a loop runs in minutes, and a restart forgetting an hour is harmless."""

    def __init__(self, limit: int, window: dt.timedelta = CAP_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._sent: dict[str, deque[dt.datetime]] = defaultdict(deque)

    def allows(self, recipient: str, now: dt.datetime) -> bool:
        sent = self._sent[recipient.lower()]
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        return len(sent) < self.limit

    def record(self, recipient: str, now: dt.datetime) -> None:
        self._sent[recipient.lower()].append(now)


def smtp_client(cfg: SmtpConfig) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=cfg.host, port=cfg.port, username=cfg.user, password=cfg.password,
        use_tls=cfg.tls == "ssl", start_tls=cfg.tls == "starttls",
        timeout=TIMEOUT)


def _permanent(exc: Exception) -> bool:
    """A 5xx from the relay will not get better by retrying."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500


class MailSender:
    def __init__(self, rt: Runtime, cfg: SmtpConfig, *, clock: Clock | None = None,
                 batch: int = BATCH) -> None:
        self.rt = rt
        self.cfg = cfg
        self.clock = clock or rt.bus.clock
        self.batch = batch
        self.identity = MailIdentity.of(rt.settings, rt.secret)
        self.renderer = Renderer(rt.settings)
        self.cap = AutoReplyCap(rt.settings.email.auto_reply_limit)

    async def run_once(self) -> int:
        """Claim and deliver one batch; the number of rows claimed."""
        rows = await self.rt.outbox.claim(CHANNEL, self.clock.now(), self.batch, LEASE)
        if not rows:
            return 0
        ready = [(row, built) for row in rows if (built := await self._prepared(row))]
        if ready:
            await self._send_all(ready)
        return len(rows)

    # ------------------------------------------------------------ deciding and building

    async def _prepared(self, row: OutboxRow) -> Built | None:
        """The row ready to send, or None once it is marked: one row that cannot be rendered
        or built is set aside on its own and never holds back the rows claimed with it."""
        try:
            return await self._prepare(row)
        except (ValueError, TypeError, UnicodeError) as exc:
            # The message itself cannot be made (a header with a line break in it, a
            # payload that does not encode): no retry will change that.
            await self._failed(row, exc, permanent=True)
        except Exception as exc:  # a storage hiccup while rendering: retried, bounded
            log.exception("outbox %s could not be prepared", row.id)
            await self._failed(row, exc, permanent=False)
        return None

    async def _prepare(self, row: OutboxRow) -> Built | None:
        reason = await self._refuse(row)
        rendered: Rendered | Skip = Skip(reason) if reason else await self._render(row)
        if isinstance(rendered, Skip):
            await self._give_up(row, f"skipped: {rendered.reason}")
            return None
        return self._build(row, rendered)

    async def _refuse(self, row: OutboxRow) -> str | None:
        to = row.recipient
        if "@" not in to:
            return f"not a mail address: {to!r}"
        if self.identity.is_own(to):
            return "our own address"
        if is_no_reply(to):
            return "a no-reply address"
        if await self.rt.inbound.is_suppressed(to):
            return "the address bounced before"
        # A retry is the same mail as its first attempt, which the cap has already counted.
        if row.kind in AUTO_REPLIED and row.attempts <= 1:
            if not self.cap.allows(to, self.clock.now()):
                return f"more than {self.cap.limit} automatic mails to {to} within an hour"
            self.cap.record(to, self.clock.now())
        return None

    async def _render(self, row: OutboxRow) -> Rendered | Skip:
        async with self.rt.views.reading() as r:
            return await self.renderer.render(row, r)

    def _build(self, row: OutboxRow, r: Rendered) -> Built:
        ident = self.identity
        m = EmailMessage()
        headers = {
            "From": formataddr((t(row.language, "mail.from_name"), ident.address)),
            "To": row.recipient, "Subject": one_line(r.subject),
            "Message-ID": ident.message_id(row.id, row.ticket, row.person_id),
            "Date": format_datetime(self.clock.now()),
            "Reply-To": ident.reply_to(row.ticket, row.person_id),
            "In-Reply-To": r.in_reply_to, "References": " ".join(r.references) or None,
            "Auto-Submitted": r.auto_submitted, "X-Auto-Response-Suppress": "All",
            LOOP_HEADER: ident.loop_value, "Content-Language": row.language,
        }
        for name, value in headers.items():
            if name == "Subject":
                set_subject(m, value)
            elif value and name not in _AFTER_CONTENT:
                m[name] = value
        m.set_content(r.text)
        for f in r.attachments:
            maintype, _, subtype = f.content_type.partition("/")
            m.add_attachment(f.data, maintype=maintype or "application",
                             subtype=subtype or "octet-stream", filename=f.filename)
        # set_content and add_attachment drop or move every Content-* header: set it last.
        m["Content-Language"] = row.language
        meta = {k.lower(): v for k, v in headers.items() if v}
        return Built(m, meta)

    # ------------------------------------------------------------ sending

    async def _send_all(self, ready: list[tuple[OutboxRow, Built]]) -> None:
        handled: set[int] = set()
        try:
            async with smtp_client(self.cfg) as smtp:
                for row, built in ready:
                    await self._send(smtp, row, built)
                    handled.add(row.id)
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The connection itself failed (refused, dropped, login): not the rows' fault,
            # so every row not yet handled is retried, whatever the reply code.
            log.warning("SMTP relay %s:%s: %s", self.cfg.host, self.cfg.port, exc)
            for row, _ in ready:
                if row.id not in handled:
                    await self._failed(row, exc, permanent=False)

    async def _send(self, smtp: aiosmtplib.SMTP, row: OutboxRow, built: Built) -> None:
        await self._record_ref(row, built)
        try:
            await smtp.send_message(built.message, sender=self.identity.address,
                                    recipients=[row.recipient])
        except aiosmtplib.SMTPServerDisconnected:
            raise
        except aiosmtplib.SMTPException as exc:
            await self._failed(row, exc, permanent=_permanent(exc))
            return
        except (ValueError, TypeError, UnicodeError) as exc:  # the message won't serialize
            await self._failed(row, exc, permanent=True)
            return
        await self.rt.outbox.mark_sent(row.id, self.clock.now(), built.meta)
        log.info("sent %s #%s to %s as %s", row.kind, row.ticket, row.recipient,
                 built.meta["message-id"])

    async def _record_ref(self, row: OutboxRow, built: Built) -> None:
        """Before sending: a reply may come back faster than `mark_sent` runs."""
        if row.ticket is None:
            return
        await self.rt.outbox.record_sent_ref(built.meta["message-id"], row.ticket)

    async def _failed(self, row: OutboxRow, exc: Exception, *, permanent: bool) -> None:
        error = f"{type(exc).__name__}: {exc}"[:500]
        if permanent or row.attempts >= MAX_ATTEMPTS:
            await self._give_up(row, error)
            return
        retry = next_retry(row.attempts, self.clock.now())
        await self.rt.outbox.mark_failed(row.id, self.clock.now(), error, retry)
        log.info("outbox %s to %s failed (%s), retry at %s", row.id, row.recipient, error,
                 retry.isoformat())

    async def _give_up(self, row: OutboxRow, reason: str) -> None:
        await self.rt.outbox.mark_failed(row.id, self.clock.now(), reason, None)
        log.warning("outbox %s (%s to %s) given up: %s", row.id, row.kind, row.recipient,
                    reason)
