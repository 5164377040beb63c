"""An ignored mail becomes a ticket when staff say so: `ticketbot mail rescue ID` and
`/rescue ID` in the staff chat both come here.

The channel reads the stored mail and hands what the ticket needs to the engine's
`RescueMail`, which decides who may (by role) and opens the ticket without an ack
(engine/rescue.py says why). Then the mail's row is finished as done with its ticket, so
it leaves the ignored list. The mail's Message-ID is the command's source: the requester's
answer to staff's `/reply` threads, and a rescue run twice finds the ticket it made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.channels.email.act.process import clean_subject
from bot.channels.email.receive import raw
from bot.channels.email.understand.parse import ParsedMail, parse_mail
from bot.channels.email.understand.senders import CompanyDomains, display_name, guess_language
from bot.threading.rules import tag_pattern
from config.settings import Settings
from engine import commands as c
from engine.bus import MessageBus
from engine.inbox import InboundRow, Inbox
from engine.model import Attachment
from engine.views import Views


@dataclass(frozen=True)
class Rescuer:
    settings: Settings
    bus: MessageBus
    views: Views
    inbound: Inbox

    async def rescue(self, inbound_id: int, *, actor: int | None, channel: str,
                     at: dt.datetime) -> int:
        """The ticket the ignored mail became; raises the engine's refusal otherwise
        (`NotAllowed` for a client, `MailNotFound` for an id that names no ignored mail)."""
        row = await self.inbound.get(inbound_id)
        ignored = row if row is not None and row.channel == raw.CHANNEL \
            and row.status == "ignored" else None
        outcome = await self.bus.handle(c.RescueMail(
            actor=actor, channel=channel, at=at, inbound_id=inbound_id,
            mail=None if ignored is None else await self._mail(ignored),
            source_ref=None if ignored is None else ignored.external_id))
        assert outcome.ticket is not None  # else the engine refused
        reason = f"rescued by {'the service' if actor is None else f'person {actor}'}" \
                 f" via {channel}"
        await self.inbound.finish(inbound_id, "done", outcome.ticket, reason, "rescue")
        return outcome.ticket

    async def requeue(self, inbound_id: int, *, actor: int | None, channel: str,
                      at: dt.datetime) -> None:
        """A quarantined mail back to pending, once the engine allowed it and recorded
        `MailRequeued` (it raises `NotAllowed` or `QuarantinedMailNotFound` otherwise); the
        intake then processes it like a new mail."""
        row = await self.inbound.get(inbound_id)
        quarantined = row is not None and row.channel == raw.CHANNEL \
            and row.status == "quarantined"
        await self.bus.handle(c.RequeueMail(actor=actor, channel=channel, at=at,
                                            inbound_id=inbound_id, quarantined=quarantined))
        await self.inbound.rescue(inbound_id)

    async def _mail(self, row: InboundRow) -> c.RescuedMail:
        mail = parse_mail(row.raw or b"")
        address = _address(mail)
        subject = clean_subject(mail.subject, tag_pattern(self.settings.email.subject_tag))
        company = None if address is None else await CompanyDomains(self.views).company_of(
            address)
        return c.RescuedMail(
            subject=subject or mail.text.strip()[:80] or "?", description=mail.text,
            address=address, name=display_name(mail.from_name, address or "?"),
            language=guess_language(f"{mail.subject}\n{mail.text}", self.settings.language),
            company_id=company, channel=raw.CHANNEL,
            attachments=tuple(Attachment(a.filename, a.content_type, a.data, found_in=row.id)
                              for a in mail.attachments))


def _address(mail: ParsedMail) -> str | None:
    address = mail.from_addr or next(iter(mail.reply_to), None)
    return address if address and "@" in address else None
