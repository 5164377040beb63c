"""One handler per command. Each checks roles (F3) and the workflow (F2), changes the
ticket and raises events; the bus stores the events and commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from engine import commands as c
from engine import desk, directory_import, directory_links, errors, fields, move, rescue, routing
from engine import events as e
from engine.access import Action
from engine.context import Context
from engine.files import admit, refused_files
from engine.model import (
    FINISHED,
    TRANSITIONS,
    Comment,
    Person,
    Status,
    Ticket,
    one_line,
)
from engine.notify.combine import without_answer

Handler = Callable[[Context, Any], Awaitable[int | None]]


def _choice(value: str | None, options: tuple[str, ...], default: str, name: str) -> str:
    if value is None:
        return default
    if value not in options:
        raise errors.InvalidValue(field=name, value=value, reason="not one of the choices",
                                  choices=options)
    return value


async def _requester(ctx: Context, cmd: c.OpenTicket) -> Person | None:
    requester_id = cmd.requester_id if cmd.requester_id is not None else ctx.actor_id
    if requester_id is None:
        return None
    person = await ctx.uow.people.get(requester_id)
    if person is None:
        raise errors.PersonNotFound(who=str(requester_id))
    return person


def _new_ticket(ctx: Context, cmd: c.OpenTicket, number: int, requester: Person | None) -> Ticket:
    s = ctx.settings
    return Ticket(
        number=number, subject=one_line(cmd.subject) or one_line(cmd.description)[:80],
        description=cmd.description, status=Status.OPEN, created_at=ctx.at,
        updated_at=ctx.at, channel=cmd.channel,
        type=_choice(cmd.type, s.types, s.default_type, "type"),
        priority=_choice(cmd.priority, s.priorities, s.default_priority, "priority"),
        requester_id=None if requester is None else requester.id,
        company_id=None if requester is None else requester.company_id,
        responsible_id=cmd.responsible_id, creator_id=cmd.creator_id or ctx.actor_id,
        observers=set(cmd.observers), tags=set(cmd.tags), cc=cmd.cc,
        source_ref=_origin(cmd), linked_to=cmd.linked_to,
    )


def _origin(cmd: c.OpenTicket) -> str | None:
    return cmd.about_refs[0] if cmd.about_refs else cmd.source_ref


async def open_ticket(ctx: Context, cmd: c.OpenTicket) -> int:
    staff_fields = cmd.responsible_id is not None or cmd.creator_id is not None
    if ctx.actor is not None and not ctx.actor.role.is_staff and staff_fields:
        raise errors.NotAllowed(action=Action.ASSIGN.value, role=ctx.actor.role.value)
    requester = await _requester(ctx, cmd)
    ticket = _new_ticket(ctx, cmd, await ctx.uow.tickets.next_number(), requester)
    fields.opening(ctx, ticket, requester)
    # F12: rules, desk and the company manager (engine/routing.py).
    decision = await routing.route(ctx.uow, ctx.settings.routing, ctx.settings.desks, ticket,
                                   cmd.mailbox)
    for prepare in ctx.openers:  # the SLA's deadlines, in the row as first written
        await prepare(ctx, ticket)
    await ctx.uow.tickets.add(ticket)
    files = admit(cmd.attachments, ctx.settings.files)
    first = Comment(ticket=ticket.number, author_id=ticket.requester_id, body=cmd.description,
                    public=True, channel=cmd.channel, created_at=ctx.at,
                    source_ref=ticket.source_ref, attachments=files)
    refused_files(ctx, ticket.number, await ctx.uow.comments.add(first), files)
    for about in cmd.about_refs:
        await ctx.uow.refs.add(about, ticket.number, "in")
    ctx.raise_event(e.TicketOpened(
        ticket=ticket.number, actor=ctx.actor_id, at=ctx.at, channel=cmd.channel,
        subject=ticket.subject, requester_id=ticket.requester_id,
        responsible_id=ticket.responsible_id, linked_to=ticket.linked_to,
        acknowledge=cmd.acknowledge and not ticket.internal,
        notify_cc=() if ticket.internal else ticket.cc if cmd.notify_cc is None
        else tuple(a for a in cmd.notify_cc if a in ticket.cc)))
    entry = routing.routed(ticket, decision, ctx.actor_id, ctx.at, cmd.channel)
    if entry is not None:
        ctx.raise_event(entry)
    return ticket.number


def _move(ctx: Context, ticket: Ticket, new: Status, until: dt.datetime | None = None) -> None:
    """Change status along the F2 table, raising InvalidTransition otherwise."""
    old = ticket.status
    if new not in TRANSITIONS[old]:
        allowed = tuple(sorted(s.value for s in TRANSITIONS[old]))
        raise errors.InvalidTransition(number=ticket.number, old=old.value, new=new.value,
                                       allowed=allowed)
    ticket.status = new
    ticket.waiting_until = until if new is Status.WAITING else None
    _stamp_status(ticket, new, ctx.at)
    ticket.updated_at = ctx.at
    ctx.raise_event(e.StatusChanged(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                    channel=ctx.command.channel, old=old.value, new=new.value,
                                    until=ticket.waiting_until))


def _stamp_status(ticket: Ticket, new: Status, at: dt.datetime) -> None:
    if new is Status.RESOLVED:
        ticket.resolved_at = at
    elif new is Status.CLOSED:
        ticket.closed_at = at
    elif new is Status.OPEN:
        ticket.resolved_at = None


def _check_until(ctx: Context, status: Status, until: dt.datetime | None) -> None:
    if status is not Status.WAITING:
        return
    if until is None:
        raise errors.InvalidValue(field="until", value="", reason="waiting needs an until-time")
    if until.tzinfo is None or until <= ctx.at:
        raise errors.InvalidValue(field="until", value=until.isoformat(),
                                  reason="must be an aware time in the future")


async def _comment(ctx: Context, ticket: Ticket, body: str, *, public: bool,
                   source_ref: str | None = None, attachments: tuple[Any, ...] = ()) -> int:
    files = admit(attachments, ctx.settings.files)
    comment = Comment(ticket=ticket.number, author_id=ctx.actor_id, body=body, public=public,
                      channel=ctx.command.channel, created_at=ctx.at, source_ref=source_ref,
                      attachments=files)
    comment_id = await ctx.uow.comments.add(comment)
    refused_files(ctx, ticket.number, comment_id, files)
    by_staff = ctx.actor is None or ctx.actor.role.is_staff
    if public and by_staff and ctx.actor is not None and ticket.first_response_at is None:
        ticket.first_response_at = ctx.at
    ticket.updated_at = ctx.at
    ctx.raise_event(e.CommentAdded(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                   channel=ctx.command.channel, comment_id=comment_id,
                                   public=public, by_staff=by_staff))
    return comment_id


async def add_comment(ctx: Context, cmd: c.AddComment) -> int:
    ticket = await ctx.ticket(cmd.ticket, Action.COMMENT if cmd.public else Action.NOTE)
    if ticket.status is Status.CLOSED and cmd.public:
        raise errors.TicketClosed(number=ticket.number)
    await _comment(ctx, ticket, cmd.body, public=cmd.public, source_ref=cmd.source_ref,
                   attachments=cmd.attachments)
    if _reopens(ctx, ticket):
        _move(ctx, ticket, Status.OPEN)
    await ctx.uow.tickets.save(ticket)
    return ticket.number


async def edit_comment(ctx: Context, cmd: c.EditComment) -> int:
    """Only the author edits, and only text the ticket holds; the first message of a
    ticket is also its description."""
    ticket = await ctx.ticket(cmd.ticket, Action.VIEW)
    found = None if cmd.source_ref is None else \
        await ctx.uow.comments.by_ref(ticket.number, cmd.source_ref)
    if found is None:
        raise errors.InvalidValue(field="message", value=cmd.source_ref or "", reason="not in ticket")
    if ctx.actor is not None and found.author_id != ctx.actor.id:
        raise errors.NotAllowed(action=Action.COMMENT.value, role=ctx.actor.role.value,
                                number=ticket.number)
    await ctx.uow.comments.set_body(found.id, cmd.body)
    if found.first:
        ticket.description = cmd.body
    ticket.updated_at = ctx.at
    await ctx.uow.tickets.save(ticket)
    ctx.raise_event(e.CommentEdited(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                    channel=cmd.channel, comment_id=found.id))
    return ticket.number


async def withdraw_comment(ctx: Context, cmd: c.WithdrawComment) -> int:
    """`/undo`: the actor's public answer, while its rows still wait in the outbox, is not
    sent after all. Only its author (or a lead) takes it back; it stays on the ticket as an
    internal note, so nothing typed is lost."""
    if ctx.actor is None or not ctx.actor.role.is_staff:
        raise errors.NotAllowed(action=Action.COMMENT.value, role="client", number=cmd.ticket)
    found = await _held_answer(ctx, cmd)
    if found is None:
        raise errors.NothingToWithdraw(number=cmd.ticket)
    ticket, cause, comment_id = found
    withdrawn = await ctx.uow.outbox.withdraw(cause, ctx.clock.now())
    if not withdrawn:
        raise errors.NothingToWithdraw(number=ticket.number)
    # `/close N text` withdrawn: the words are taken back, not the status. The ticket stays
    # closed (the specialist meant that; undoing it silently would reopen work and its SLA
    # clock behind their back), so the client still hears where it went, without the text.
    for item in withdrawn:
        status = without_answer(item)
        if status is not None:
            await ctx.uow.outbox.enqueue(status)
    await ctx.uow.comments.set_public(comment_id, False)
    comment = next((x for x in await ctx.uow.comments.for_ticket(ticket.number)
                    if x.id == comment_id), None)
    if comment is not None and ticket.first_response_at == comment.created_at:
        ticket.first_response_at = None  # the client never got it
    ticket.updated_at = ctx.at
    await ctx.uow.tickets.save(ticket)
    ctx.raise_event(e.CommentWithdrawn(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                       channel=cmd.channel, comment_id=comment_id, cause=cause,
                                       withdrawn=len(withdrawn)))
    return ticket.number


async def _held_answer(ctx: Context, cmd: c.WithdrawComment) -> tuple[Ticket, int, int] | None:
    """The newest answer still held back that this actor may withdraw: (ticket, its
    comment event's id, the comment's id)."""
    held = [h for h in await ctx.uow.outbox.held(ctx.clock.now()) if h.ticket is not None
            and (cmd.ticket is None or h.ticket == cmd.ticket)
            and (cmd.cause is None or h.cause == cmd.cause)]
    for h in sorted(held, key=lambda h: h.cause, reverse=True):
        assert h.ticket is not None
        ticket = await ctx.ticket(h.ticket, Action.COMMENT)
        event = next((x for x in await ctx.uow.events.for_ticket(h.ticket)
                      if x.id == h.cause and x.kind == e.CommentAdded.kind), None)
        if event is not None and _may_withdraw(ctx, event.actor):
            return ticket, h.cause, int(event.payload["comment_id"])
    return None


def _may_withdraw(ctx: Context, author: int | None) -> bool:
    actor = ctx.actor
    return actor is not None and (author == actor.id or actor.role.sees_everything)


def _reopens(ctx: Context, ticket: Ticket) -> bool:
    """F2: the requester's side answering a waiting or resolved ticket puts it back to work."""
    by_client = ctx.actor is not None and not ctx.actor.role.is_staff
    return by_client and ticket.status in (Status.WAITING, Status.RESOLVED)


async def _set_responsible(ctx: Context, ticket: Ticket, person_id: int | None) -> None:
    if ticket.responsible_id == person_id:
        return
    old, ticket.responsible_id = ticket.responsible_id, person_id
    ctx.raise_event(e.ResponsibleChanged(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                         channel=ctx.command.channel, old=old, new=person_id))


async def take(ctx: Context, cmd: c.Take) -> int:
    ticket = await ctx.ticket(cmd.ticket, Action.TAKE)
    if ctx.actor is None or not ctx.actor.role.is_staff:
        raise errors.NotAllowed(action=Action.TAKE.value, role="client", number=cmd.ticket)
    if ticket.status in FINISHED:
        raise errors.InvalidTransition(number=ticket.number, old=ticket.status.value,
                                       new=Status.IN_PROGRESS.value, allowed=())
    await _set_responsible(ctx, ticket, ctx.actor.id)
    if ticket.status is Status.OPEN:
        _move(ctx, ticket, Status.IN_PROGRESS)
    await ctx.uow.tickets.save(ticket)
    return ticket.number


async def assign(ctx: Context, cmd: c.Assign) -> int:
    ticket = await ctx.ticket(cmd.ticket, Action.ASSIGN)
    if cmd.person_id is not None:
        person = await ctx.uow.people.get(cmd.person_id)
        if person is None or not person.role.is_staff:
            raise errors.InvalidValue(field="responsible", value=str(cmd.person_id),
                                      reason="not a specialist")
    await _set_responsible(ctx, ticket, cmd.person_id)
    await ctx.uow.tickets.save(ticket)
    return ticket.number


async def set_status(ctx: Context, cmd: c.SetStatus) -> int:
    ticket = await ctx.ticket(cmd.ticket, Action.STATUS)
    _check_until(ctx, cmd.status, cmd.until)
    _move(ctx, ticket, cmd.status, cmd.until)
    if cmd.text:
        await _comment(ctx, ticket, cmd.text, public=True)
    await ctx.uow.tickets.save(ticket)
    return ticket.number


async def close(ctx: Context, cmd: c.Close) -> int:
    """`/close` from any working status: resolve first, then close, both steps recorded."""
    ticket = await ctx.ticket(cmd.ticket, Action.STATUS)
    if cmd.text:
        await _comment(ctx, ticket, cmd.text, public=True)
    if ticket.status is not Status.RESOLVED and Status.RESOLVED in TRANSITIONS[ticket.status]:
        _move(ctx, ticket, Status.RESOLVED)
    _move(ctx, ticket, Status.CLOSED)
    await ctx.uow.tickets.save(ticket)
    return ticket.number


async def set_priority(ctx: Context, cmd: c.SetPriority) -> int:
    ticket = await ctx.ticket(cmd.ticket, Action.PRIORITY)
    new = _choice(cmd.priority, ctx.settings.priorities, ticket.priority, "priority")
    if new != ticket.priority:
        old, ticket.priority = ticket.priority, new
        ctx.raise_event(e.PriorityChanged(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                          channel=cmd.channel, old=old, new=new))
        await ctx.uow.tickets.save(ticket)
    return ticket.number


async def add_tag(ctx: Context, cmd: c.AddTag) -> int:
    ticket = await ctx.ticket(cmd.ticket, Action.STATUS)
    tag = cmd.tag.strip().lower()
    if not tag:
        raise errors.InvalidValue(field="tag", value=cmd.tag, reason="empty")
    if tag not in ticket.tags:
        ticket.tags.add(tag)
        ctx.raise_event(e.TagAdded(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                   channel=cmd.channel, tag=tag))
        await ctx.uow.tickets.save(ticket)
    return ticket.number


async def return_due_waiting(ctx: Context, cmd: c.ReturnDueWaiting) -> int | None:
    ctx.require(Action.STATUS)
    for number in await ctx.uow.tickets.due_waiting(ctx.clock.now()):
        ticket = await ctx.uow.tickets.get(number)
        if ticket is not None and ticket.status is Status.WAITING:
            _move(ctx, ticket, Status.OPEN)
            await ctx.uow.tickets.save(ticket)
    return None


async def rescue_mail(ctx: Context, cmd: c.RescueMail) -> int:
    """An ignored mail becomes a ticket, staff only and without an ack (engine/rescue.py)."""
    mail = rescue.checked(ctx, cmd)
    # Rescued before, and the channel did not finish the mail's row: the same ticket.
    known = None if cmd.source_ref is None else await ctx.uow.refs.find([cmd.source_ref])
    if known is not None:
        return known
    requester = await rescue.requester(ctx, cmd, mail)
    number = await open_ticket(ctx, rescue.ticket_of(ctx, cmd, mail, requester))
    rescue.rescued(ctx, cmd, number)
    return number


COMMAND_HANDLERS: dict[type[c.Command], Handler] = {
    c.OpenTicket: open_ticket,
    c.AddComment: add_comment,
    c.EditComment: edit_comment,
    c.WithdrawComment: withdraw_comment,
    c.Take: take,
    c.Assign: assign,
    c.SetStatus: set_status,
    c.Close: close,
    c.SetPriority: set_priority,
    c.AddTag: add_tag,
    c.ReturnDueWaiting: return_due_waiting,
    c.MoveTicket: move.move_ticket,  # engine/move.py
    # The desk's own records, about no ticket (engine/desk.py).
    c.RegisterContact: desk.register_contact,
    c.SuppressAddress: desk.suppress_address,
    c.UnsuppressAddress: desk.unsuppress_address,
    c.IgnoreMail: desk.ignore_mail,
    c.RetryDelivery: desk.retry_delivery,
    c.RecordDialogs: desk.record_dialogs,
    c.RescueMail: rescue_mail,
    c.RequeueMail: rescue.requeue_mail,
    # Type, tags, observers, copies, planned date, time spent (engine/fields.py).
    **fields.HANDLERS,
    # F11 directories (engine/directory_import.py, engine/directory_links.py).
    c.ImportDirectory: directory_import.import_directory,
    c.LinkTicket: directory_links.link_ticket,
    c.SetCompany: directory_links.set_company,
    c.SetRequester: directory_links.set_requester,
}

