"""A client asking by mail what became of their requests: a mail whose first line is
`/status` or `/my` is answered with the sender's own tickets, not opened as a new one.

The answer goes to the address the directory knows for the sender (the address the mail
came from, matched to that person), so a forged From makes the desk write to the real
owner of the address, and the forger learns nothing."""

from __future__ import annotations

from bot.channels.email.act.fate import Fate
from bot.channels.email.act.replies import Asker, Replies
from bot.channels.email.act.session import Session
from bot.i18n import status_name, t

ASKS = frozenset({"/status", "/my", "/статус", "/мои"})
SHOWN = 20


def asks(reply: str) -> bool:
    """The first non-empty line is one of the words, alone."""
    first = reply.strip().split("\n", 1)[0].strip().lower()
    return first in ASKS


async def answer(session: Session, replies: Replies, asker: Asker) -> Fate:
    lang, person = asker.person.language, asker.person
    async with session.reading() as view:
        mine = await view.tickets.requested_by(person.id, SHOWN)
        names = {}
        for ticket in mine:
            if ticket.responsible_id is not None and ticket.responsible_id not in names:
                found = await view.people.get(ticket.responsible_id)
                names[ticket.responsible_id] = found.name if found else "—"
    if not mine:
        text = t(lang, "mail.my.none")
    else:
        rows = [t(lang, "mail.my.row", number=x.number, subject=x.subject,
                  status=status_name(lang, x.status.value),
                  responsible=names.get(x.responsible_id or 0) or t(lang, "mail.my.nobody"))
                for x in mine]
        text = "\n".join([t(lang, "mail.my.title"), "", *rows])
    await replies.send(asker, text, None)
    return Fate("done", None, "a client's /status by mail: answered with their tickets",
                "command")
