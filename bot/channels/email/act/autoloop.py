"""An auto-responder's echo of our acknowledgement joins the ticket it echoes.

Some auto-responders answer the envelope sender with no automatic header and no ticket tag
in the subject: the noise rules take the echo for a person's mail, it opened a ticket, whose
acknowledgement was echoed in turn (5 exchanges, 6 junk tickets before the hourly cap).

The rule: a mail that would open a ticket, whose text quotes the acknowledgement (or the
"you were copied" notice) of a ticket opened by mail at most `email.auto_loop_minutes`
earlier for this very sender, is added to that ticket instead. No ticket is opened, so
nothing automatic is sent: the loop ends at its first echo, and the echo stays readable on
the ticket. A person who writes twice quickly quotes none of our text and gets both tickets
and both acknowledgements. (The per-recipient cap of automatic mails is a separate, later
brake in the sender.)
"""

from __future__ import annotations

import datetime as dt
import re

from bot.i18n import t
from config.settings import LANGUAGES
from engine.model import Person, Ticket
from engine.views import Reading

_NUMBER = re.compile(r"#(\d{1,9})\b")
_QUOTE_MARKS = re.compile(r"(?m)^[ \t>]+")
_CANDIDATES = 5  # ticket numbers looked up per mail, at most
_AUTOMATIC = ("notify.ack.body", "notify.created_cc.body")  # what we mail a client unasked


def _flat(text: str) -> str:
    """Quote marks and line breaks gone, spaces collapsed: a quote re-wrapped by the
    responder still reads as our sentence."""
    return " ".join(_QUOTE_MARKS.sub("", text).split())


def _quotes_our_notice(flat: str, number: int) -> bool:
    return any(_flat(t(lang, key, number=number)) in flat
               for lang in LANGUAGES for key in _AUTOMATIC)


def _addressed(ticket: Ticket, sender: Person, address: str) -> bool:
    return ticket.requester_id == sender.id or address.lower() in (a.lower() for a in ticket.cc)


async def echoed_ticket(view: Reading, sender: Person, address: str, text: str,
                        at: dt.datetime, window: dt.timedelta) -> int | None:
    """The ticket whose automatic notice this mail echoes, or None."""
    flat = _flat(text[:200_000])  # the quote sits near the top; bound the work
    numbers = list(dict.fromkeys(int(m.group(1)) for m in _NUMBER.finditer(flat)))
    for number in numbers[:_CANDIDATES]:
        if not _quotes_our_notice(flat, number):
            continue
        ticket = await view.tickets.get(number)
        if ticket is None or ticket.channel != "email" or not _addressed(ticket, sender,
                                                                          address):
            continue
        if dt.timedelta(0) <= at - ticket.created_at <= window:
            return number
    return None
