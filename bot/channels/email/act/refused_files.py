"""Files a size limit refused (engine/files.py): staff read a note on the ticket, and the
person who mailed them is told once, in their language.

Only a person's mail reaches this point (machine mail is ignored before it opens or joins
a ticket, and a rescued mail is never answered), so no daemon is written to. The outbox
key names the inbound mail: a replay, or a second batch, adds nothing; the mail goes out
as an automatic reply (Auto-Submitted, counted by the automatic-mail cap), so an
auto-responder's answer to it is ignored and no loop starts."""

from __future__ import annotations

import datetime as dt

from bot.channels.email.act.session import Session
from bot.files import refused_lines
from bot.i18n import t
from config.settings import Settings
from engine import commands as c
from engine.bus import Outcome
from engine.events import FilesRefused
from engine.model import Person
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem

CHANNEL = "email"


async def tell(s: Session, settings: Settings, outcome: Outcome, *, inbound_id: int,
               ref: str, subject: str, at: dt.datetime, sender: Person | None,
               address: str | None) -> None:
    found = next((e for e in outcome.events if isinstance(e, FilesRefused)), None)
    if found is None:
        return
    limits = settings.engine.files
    note = t(settings.language, "files.refused_note",
             files=refused_lines(settings.language, found.files, limits))
    await s.bus.handle(c.AddComment(actor=None, channel=CHANNEL, at=at, ticket=found.ticket,
                                    body=note, public=False))
    if sender is None or not address:
        return
    lang = sender.language
    text = t(lang, "files.refused_mail", number=found.ticket,
             files=refused_lines(lang, found.files, limits))
    await s.enqueue(OutboxItem(
        key=f"files-refused:{inbound_id}", channel=CHANNEL, recipient=address.lower(),
        kind=NoticeKind.MAIL_REPLY, ticket=found.ticket, person_id=sender.id, language=lang,
        payload={"text": text, "subject": subject, "in_reply_to": ref}))
