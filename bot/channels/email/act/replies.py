"""Answers to a specialist's mail (a refused command, an engine refusal), through the
outbox like every other mail.

Never used for clients or strangers: callers answer only a verified specialist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.i18n import explain
from engine.errors import EngineError
from engine.model import Person
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem


@dataclass(frozen=True)
class Asker:
    """The verified specialist's mail being answered."""

    inbound_id: int
    ref: str
    subject: str
    address: str
    person: Person


class Replies:
    def __init__(self, enqueue: Callable[[OutboxItem], Awaitable[bool]]) -> None:
        # The session's: in a batch, the answer commits with the mail's own work.
        self.enqueue = enqueue

    async def send(self, asker: Asker, text: str, ticket: int | None,
                   key: str | None = None) -> None:
        """`key` makes answers that share it one mail (the outbox keeps the first)."""
        item = OutboxItem(
            key=key or f"mail-reply:{asker.inbound_id}", channel="email",
            recipient=asker.address.lower(), kind=NoticeKind.MAIL_REPLY, ticket=ticket,
            person_id=asker.person.id, language=asker.person.language,
            payload={"text": text, "subject": asker.subject, "in_reply_to": asker.ref})
        await self.enqueue(item)

    async def explain(self, asker: Asker, exc: EngineError, ticket: int | None) -> None:
        await self.send(asker, explain(asker.person.language, exc), ticket)
