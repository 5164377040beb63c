"""SMTP/LMTP intake (aiosmtpd) in our own event loop, for sites that point an MX, an alias
or an LMTP transport at the bot.

Refusals happen as early as the protocol allows: an unknown recipient at RCPT (550 5.1.1;
only our address and its `+token` variants are ours), an over-size mail at MAIL (SIZE=) or
at the end of DATA (552 5.3.4). `250` is answered only after the raw bytes are committed (mails that arrive together on
several connections share one commit: keeper.py); a
storage failure answers 451 so the sending MTA keeps the mail and retries. The processing
happens afterwards. LMTP answers once per recipient (RFC 2033, aiosmtpd#517).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from bot.channels.email.receive import status_codes as sc
from bot.channels.email.receive.keeper import Keeper
from bot.channels.email.understand.identity import MailIdentity
from bot.supervise import StartError
from engine.inbox import Inbox
from engine.ports import Clock

log = logging.getLogger("ticketbot.email.ingress")

MAX_RECIPIENTS = 50
# aiosmtpd's own size refusals carry no enhanced status code; ours replace them.
_LIBRARY_TOO_BIG = ("552 Error: Too much mail data", "552 Error: message size exceeds")


class IngressHandler:
    def __init__(self, inbound: Inbox, identity: MailIdentity, clock: Clock, *,
                 max_size: int, lmtp: bool, on_stored: Callable[[], None] = lambda: None) -> None:
        self.inbound = inbound
        self.identity = identity
        self.clock = clock
        self.max_size = max_size
        self.lmtp = lmtp
        self.on_stored = on_stored
        self.keeper = Keeper(inbound)

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if not self.identity.is_own(address):
            log.info("refused recipient %s", address)
            return sc.UNKNOWN_RECIPIENT.line
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return sc.TOO_MANY_RECIPIENTS.line
        envelope.rcpt_tos.append(address)
        return sc.RECIPIENT_OK.line

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or b""
        recipients: list[str] = list(envelope.rcpt_tos)
        if len(data) > self.max_size:
            return self.reply(sc.TOO_BIG, recipients)
        try:
            new = await self.keeper.keep(data, self.clock.now(), envelope=recipients)
        except Exception:  # the sender keeps the mail and retries; we lose nothing
            log.exception("could not store a mail from %s", envelope.mail_from)
            return self.reply(sc.STORAGE_FAILED, recipients)
        if new is not None:
            self.on_stored()
        log.info("received mail from %s for %s: %s", envelope.mail_from,
                 ", ".join(recipients), "stored" if new else "duplicate")
        return self.reply(sc.DELIVERED if new else sc.DUPLICATE, recipients)

    def reply(self, status: sc.SmtpReply, recipients: Sequence[str]) -> str:
        """SMTP answers once; LMTP once per accepted recipient."""
        if not self.lmtp:
            return status.line
        return "\r\n".join(status.about(r) for r in recipients) or status.line


class _Enhanced:
    """Mixed into aiosmtpd's protocol: its size refusal becomes 552 5.3.4 (per recipient
    under LMTP, where a single line would leave the client waiting for the rest)."""

    event_handler: IngressHandler
    envelope: Any

    async def push(self, status: str | bytes) -> None:
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else status
        if text.startswith(_LIBRARY_TOO_BIG):
            recipients = list(self.envelope.rcpt_tos) if self.envelope is not None else []
            status = self.event_handler.reply(sc.TOO_BIG, recipients)
        await super().push(status)  # type: ignore[misc]


class SmtpServer(_Enhanced, SMTP):
    pass


class LmtpServer(_Enhanced, LMTP):
    pass


class IngressService:
    """Listens on `host:port` (port 0 picks a free one; see `port`)."""

    def __init__(self, handler: IngressHandler, host: str, port: int) -> None:
        self.name = f"email-{'lmtp' if handler.lmtp else 'smtp'} {host}:{port}"
        self.handler = handler
        self.host = host
        self.wanted_port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def _protocol(self) -> SMTP:
        kind = LmtpServer if self.handler.lmtp else SmtpServer
        return kind(self.handler, data_size_limit=self.handler.max_size, enable_SMTPUTF8=True,
                    hostname=self.handler.identity.domain, ident="ticketbot")

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._protocol, self.host,
                                                    self.wanted_port)
        except OSError as exc:
            raise StartError(
                f"email.listen_port: cannot listen on {self.host}:{self.wanted_port} "
                f"({os.strerror(exc.errno) if exc.errno else exc}); free the port, choose another one, or switch the "
                f"intake off with [email.smtp_intake] enabled = false") from None
        log.info("%s listening on %s:%s for %s", "LMTP" if self.handler.lmtp else "SMTP",
                 self.host, self.port, self.handler.identity.address)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
