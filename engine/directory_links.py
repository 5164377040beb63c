"""F11: a ticket's links to the directories: its company, requester, contract, service
object and equipment. Staff only; each change is a `DirectoryLinkChanged` event in the
ticket's history. Entries belong to a company, so a link keeps the ticket within one: an
entry of another company is refused, a ticket without a company takes the entry's, and a
new company unlinks what belonged to the old one."""

from __future__ import annotations

from engine import errors
from engine.access import Action
from engine.commands import LinkTicket, SetCompany, SetRequester
from engine.context import Context
from engine.directory_store import LINKABLE
from engine.events import DirectoryLinkChanged
from engine.model import Person, Ticket

# The ticket field of each linkable directory.
_FIELDS = {"contracts": "contract_id", "objects": "object_id", "equipment": "equipment_id"}


async def _ticket(ctx: Context, number: int) -> Ticket:
    """The ticket, for staff: a client learns only that their role may not (or, for a
    ticket they cannot see, that there is no such ticket)."""
    ticket = await ctx.ticket(number, Action.VIEW)
    if ctx.actor is not None and not ctx.actor.role.is_staff:
        raise errors.NotAllowed(action="link", role=ctx.actor.role.value, number=number)
    return ticket


async def _entry(ctx: Context, kind: str, ref: str, field: str) -> int:
    found = await ctx.uow.directory.resolve(kind, ref)
    if not found:
        raise errors.EntryNotFound(field=field, value=ref)
    if len(found) > 1:
        raise errors.EntryAmbiguous(field=field, value=ref)
    return found[0]


def _change(ctx: Context, ticket: Ticket, field: str, new: int | None) -> None:
    old = getattr(ticket, f"{field}_id")
    if old == new:
        return
    setattr(ticket, f"{field}_id", new)
    ticket.updated_at = ctx.at
    ctx.raise_event(DirectoryLinkChanged(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                         channel=ctx.command.channel, field=field, old=old,
                                         new=new))


async def link_ticket(ctx: Context, cmd: LinkTicket) -> int:
    kind = LINKABLE.get(cmd.kind)
    if kind is None:
        raise errors.EntryNotFound(field="link", value=cmd.kind)
    ticket = await _ticket(ctx, cmd.ticket)
    entry = None if cmd.ref is None else await _entry(ctx, kind, cmd.ref, cmd.kind)
    if entry is not None:
        company = await ctx.uow.directory.company_of(kind, entry)
        if ticket.company_id is not None and company != ticket.company_id:
            raise errors.EntryOfAnotherCompany(field=cmd.kind, value=cmd.ref or "",
                                               number=ticket.number)
        _change(ctx, ticket, "company", company)
    _change(ctx, ticket, _FIELDS[kind].removesuffix("_id"), entry)
    await ctx.uow.tickets.save(ticket)
    return ticket.number


async def set_company(ctx: Context, cmd: SetCompany) -> int:
    ticket = await _ticket(ctx, cmd.ticket)
    company = None if cmd.ref is None else await _entry(ctx, "companies", cmd.ref, "company")
    if company != ticket.company_id:
        for kind, field in _FIELDS.items():
            linked = getattr(ticket, field)
            if linked is not None and await ctx.uow.directory.company_of(kind, linked) != company:
                _change(ctx, ticket, field.removesuffix("_id"), None)
        _change(ctx, ticket, "company", company)
    await ctx.uow.tickets.save(ticket)
    return ticket.number


async def set_requester(ctx: Context, cmd: SetRequester) -> int:
    """The requester hears of the ticket from now on (they are its client); a ticket with no
    company takes theirs."""
    ticket = await _ticket(ctx, cmd.ticket)
    person = await ctx.uow.people.get(cmd.person_id)
    if person is None:
        raise errors.PersonNotFound(who=str(cmd.person_id))
    _change(ctx, ticket, "requester", person.id)
    if ticket.company_id is None and person.company_id is not None:
        _change(ctx, ticket, "company", person.company_id)
    await ctx.uow.tickets.save(ticket)
    return ticket.number


def require_reader(person: Person | None) -> None:
    """Directory cards and cross-reference lists are for staff: they show every client of a
    company, their addresses and phones."""
    if person is not None and not person.role.is_staff:
        raise errors.NotAllowed(action="directory", role=person.role.value)
