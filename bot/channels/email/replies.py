"""Answers to a specialist's mail (a refused command, an engine refusal), through the
outbox like every other mail, and the reactor that makes a command by mail happen once.

Never used for clients or strangers: callers answer only a verified specialist.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from bot.i18n import explain
from config.settings import Settings
from engine.bus import Reactor
from engine.context import Context
from engine.errors import EngineError
from engine.events import Event
from engine.model import Person
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem, UnitOfWorkFactory

# The Message-ID of the mail whose command the bus is running (set by the mail intake).
current_inbound_ref: ContextVar[str | None] = ContextVar("current_inbound_ref", default=None)


async def record_inbound_ref(ctx: Context, event_id: int, event: Event) -> None:
    """Store the mail's Message-ID in the command's own transaction: a replay after a crash
    then finds it and does not run `/close` twice."""
    ref = current_inbound_ref.get()
    if ref is not None:
        await ctx.uow.refs.add(ref, event.ticket, "in")


def email_reactors(settings: Settings) -> list[Reactor]:
    """For `bot/app.py` to add to the bus, after `notify`."""
    return [record_inbound_ref]


@dataclass(frozen=True)
class Asker:
    """The verified specialist's mail being answered."""

    inbound_id: int
    ref: str
    subject: str
    address: str
    person: Person


class Replies:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    async def send(self, asker: Asker, text: str, ticket: int | None) -> None:
        item = OutboxItem(
            key=f"mail-reply:{asker.inbound_id}", channel="email",
            recipient=asker.address.lower(), kind=NoticeKind.MAIL_REPLY, ticket=ticket,
            person_id=asker.person.id, language=asker.person.language,
            payload={"text": text, "subject": asker.subject, "in_reply_to": asker.ref})
        async with self.uow() as uow:
            await uow.outbox.enqueue(item)
            await uow.commit()

    async def explain(self, asker: Asker, exc: EngineError, ticket: int | None) -> None:
        await self.send(asker, explain(asker.person.language, exc), ticket)
