"""Several desks (F17, seed 002's most requested addition): each desk has its own mailbox
addresses, staff chat, specialists, leads, calendar and SLA policies, and a ticket belongs
to one (`Ticket.desk`). Routing picks it when the ticket is opened; `/move N desk` moves it.

The first desk is the default. An installation that declares no desk has one nameless
default desk (`Ticket.desk` stays None) and behaves exactly as before desks existed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Desk:
    name: str
    # Addresses mail reaches this desk by (`billing@...`); any `+tag` variant too.
    addresses: tuple[str, ...] = ()
    # Its staff chat: ticket posts, cards and notes of its tickets (the `[telegram]`
    # staff chat for a desk that names none).
    staff_chat_id: int | None = None
    # Who works and who leads here, by mail address (config checks they are staff).
    specialists: tuple[str, ...] = ()
    leads: tuple[str, ...] = ()
    # An `[sla.calendars]` name: its tickets' deadlines are counted in these hours (None:
    # the SLA's own), and the `[[sla.policies]]` its tickets may get (none listed: all).
    calendar: str | None = None
    sla_policies: tuple[str, ...] = ()

    def has_address(self, address: str) -> bool:
        local, _, domain = address.strip().lower().partition("@")
        bare = f"{local.partition('+')[0]}@{domain}"
        return bare in self.addresses


@dataclass(frozen=True)
class Desks:
    """Every desk, in config order; the first is the default."""

    desks: tuple[Desk, ...] = ()

    @property
    def default(self) -> str | None:
        """The name a ticket nothing else routes gets (None: no desks declared)."""
        return self.desks[0].name if self.desks else None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.desks)

    def get(self, name: str | None) -> Desk | None:
        """The desk of that name; None or a name no longer configured is the default's,
        so a config change never leaves a stored ticket without a desk."""
        found = next((d for d in self.desks if d.name == name), None)
        return found or (self.desks[0] if self.desks else None)

    def named(self, typed: str) -> Desk | None:
        """The desk a person named (`/move 7 Billing`), case-insensitively; None if none."""
        wanted = typed.strip().casefold()
        return next((d for d in self.desks if d.name.casefold() == wanted), None)

    def by_address(self, address: str | None) -> Desk | None:
        if not address:
            return None
        return next((d for d in self.desks if d.has_address(address)), None)

    def by_chat(self, chat_id: int | None) -> Desk | None:
        if chat_id is None:
            return None
        return next((d for d in self.desks if d.staff_chat_id == chat_id), None)

    def addresses(self) -> tuple[str, ...]:
        return tuple(a for d in self.desks for a in d.addresses)

    def staff_chats(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(d.staff_chat_id for d in self.desks
                                   if d.staff_chat_id is not None))
