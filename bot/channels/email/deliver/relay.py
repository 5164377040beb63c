"""The relay connections of a sender: `[email.smtp] connections` of them, so that the relay
works on one mail while we prepare or send the next (a relay answers each command in turn:
over one connection we would wait for every answer), and one mail transaction over one.

`hand` sends a built mail as aiosmtplib's `send_message` does (the same envelope options,
the same bytes: flatten.py), without the library's costlier flattening.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import socket
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib import SMTPStatus
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import normalize_message_line_endings

from bot.channels.email.deliver.flatten import mail_bytes
from config.settings import SmtpConfig

TIMEOUT = 30.0


def smtp_client(cfg: SmtpConfig) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=cfg.host, port=cfg.port, username=cfg.user, password=cfg.password,
        use_tls=cfg.tls == "ssl", start_tls=cfg.tls == "starttls",
        timeout=TIMEOUT)


class Relay:
    def __init__(self, cfg: SmtpConfig) -> None:
        self.cfg = cfg
        self.size = max(1, cfg.connections)
        self._open: dict[int, aiosmtplib.SMTP] = {}
        self._hostname: str | None = None
        self._naming = asyncio.Lock()

    async def connected(self, lane: int) -> aiosmtplib.SMTP:
        """Lane `lane`'s connection, opened (again) if it is not open."""
        smtp = self._open.get(lane)
        if smtp is not None and smtp.is_connected:
            return smtp
        await self.drop(lane)
        smtp = smtp_client(self.cfg)
        # The name we greet with, looked up once (the library would for every connection).
        smtp.local_hostname = await self._local_hostname()
        await smtp.connect()
        try:
            # Greeted before it takes a mail: a relay that refuses one more connection
            # (421 at EHLO) fails the connection, not the mail it would have carried.
            await smtp._ehlo_or_helo_if_needed()
        except BaseException:
            smtp.close()
            raise
        self._open[lane] = smtp
        return smtp

    async def _local_hostname(self) -> str:
        async with self._naming:
            if self._hostname is None:
                self._hostname = await asyncio.to_thread(socket.getfqdn)
            return self._hostname

    async def drop(self, lane: int) -> None:
        """Closes lane `lane`'s connection, politely if it still answers."""
        smtp = self._open.pop(lane, None)
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()

    async def close(self) -> None:
        for lane in list(self._open):
            await self.drop(lane)


async def hand(smtp: aiosmtplib.SMTP, message: EmailMessage, sender: str,
               recipient: str) -> None:
    """`smtp.send_message(message, sender=sender, recipients=[recipient])`: the same
    checks, commands, options, bytes and errors, for one recipient (its `sendmail` parses
    both addresses twice over: a tenth of what handing an ack over cost)."""
    # As send_message does: the relay's extensions decide the options and the bytes.
    await smtp._ehlo_or_helo_if_needed()
    options: list[str] = []
    utf8 = not (sender.isascii() and recipient.isascii())
    if utf8:
        if not smtp.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported(
                "An address containing non-ASCII characters was provided, but "
                "SMTPUTF8 is not supported by this server")
        options.append("SMTPUTF8")
    if smtp.supports_extension("8BITMIME"):
        options.append("BODY=8BITMIME")
        cte_type = "8bit"
    else:
        cte_type = "7bit"
    data = mail_bytes(message, utf8=utf8, cte_type=cte_type)
    await _transaction(smtp, sender, recipient, data, options, "utf-8" if utf8 else "ascii")


# A plain address (dot-atom local part and domain, ASCII letters, digits and a few marks):
# the library's parser hands it back as it is, for a tenth of what sending it cost.
_PLAIN = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


@functools.lru_cache(maxsize=1024)
def _quoted(address: str, encoding: str) -> bytes:
    """`<address>` as `sendmail` puts it on the command line; ValueError for an address
    that could smuggle a command in (aiosmtplib's own check)."""
    if _PLAIN.fullmatch(address):
        return f"<{address}>".encode(encoding)
    return quote_address(address).encode(encoding)


async def _transaction(smtp: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes,
                       options: list[str], encoding: str) -> None:
    """`smtp.sendmail(sender, [recipient], data, mail_options=options)`."""
    mail_from, rcpt_to = _quoted(sender, encoding), _quoted(recipient, encoding)
    if smtp.supports_extension("size"):  # RFC 1870: the octets DATA will carry
        options = [f"size={len(normalize_message_line_endings(data))}", *options]
    try:
        reply = await smtp.execute_command(b"MAIL", b"FROM:" + mail_from,
                                           *(o.encode("ascii") for o in options))
        if reply.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, sender)
        reply = await smtp.execute_command(b"RCPT", b"TO:" + rcpt_to)
        if reply.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(
                reply.code, reply.message, recipient)])
        await smtp.data(data)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        # As sendmail does: the envelope reset for the next mail, quietly.
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await smtp.rset()
        raise
