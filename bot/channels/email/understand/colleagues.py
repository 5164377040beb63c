"""A colleague of a ticket's requester: someone writing from the requester's own
organisation domain. A free-mail domain (freemail.toml) proves nothing: two people on
gmail.com are strangers to each other."""

from __future__ import annotations

from bot.channels.email.understand.freemail import organisation_domain
from engine.model import Ticket
from engine.views import PersonReader


class Colleagues:
    def __init__(self, people: PersonReader) -> None:
        self._people = people

    async def of_requester(self, address: str, ticket: Ticket) -> bool:
        domain = organisation_domain(address)
        if domain is None or ticket.requester_id is None:
            return False
        requester = await self._people.get(ticket.requester_id)
        if requester is None or requester.role.is_staff:
            return False
        return any(organisation_domain(e) == domain for e in requester.emails)
