"""Staff turn a mail the intake ignored into a ticket (`ticketbot mail rescue ID`, `/rescue ID`).

Only staff (and the service itself: the operator's shell) may, decided here by role. The
sender becomes the requester (registered as a client if new), and the ticket opens without
the automatic acknowledgement: the intake judged the mail machine-made, and the rescue says
only that staff want to work on it, not that a person waits at that address. An ack to a
daemon or a no-reply service is the mail issue 10 forbids, and it could start a loop; when
a person did write, the specialist's `/reply` reaches them, with the ticket's number and
threading, which an ack would have given them. Staff still hear of the ticket as usual.

`engine.handlers.rescue_mail` puts these steps together around its `open_ticket`.
"""

from __future__ import annotations

from engine import commands as c
from engine import errors
from engine import events as e
from engine.access import Action
from engine.context import Context
from engine.desk import normalise_address
from engine.model import Role
from engine.ports import NewPerson


def checked(ctx: Context, cmd: c.RescueMail) -> c.RescuedMail:
    """The mail to rescue, once the actor may rescue at all."""
    ctx.require(Action.RESCUE)
    if cmd.mail is None:
        raise errors.MailNotFound(inbound_id=cmd.inbound_id)
    return cmd.mail


async def requeue_mail(ctx: Context, cmd: c.RequeueMail) -> None:
    """A quarantined mail goes through the intake again (the channel requeues its row once
    this is recorded): the same right as a rescue, decided by role here."""
    ctx.require(Action.RESCUE)
    if not cmd.quarantined:
        raise errors.QuarantinedMailNotFound(inbound_id=cmd.inbound_id)
    ctx.record(e.MailRequeued(actor=ctx.actor_id, at=ctx.at, channel=cmd.channel,
                              inbound_id=cmd.inbound_id))


def ticket_of(ctx: Context, cmd: c.RescueMail, mail: c.RescuedMail,
              requester: int | None) -> c.OpenTicket:
    return c.OpenTicket(
        actor=ctx.actor_id, channel=mail.channel, at=cmd.at, source_ref=cmd.source_ref,
        subject=mail.subject, description=mail.description, requester_id=requester,
        attachments=mail.attachments, acknowledge=False)


def rescued(ctx: Context, cmd: c.RescueMail, number: int) -> None:
    ctx.record(e.MailRescued(actor=ctx.actor_id, at=ctx.at, channel=cmd.channel,
                             inbound_id=cmd.inbound_id, became=number))


async def requester(ctx: Context, cmd: c.RescueMail, mail: c.RescuedMail) -> int | None:
    if not mail.address:
        return None
    address = normalise_address(mail.address)
    found = await ctx.uow.people.by_email(address)
    if found is not None:
        return found.id
    person = await ctx.uow.people.add(NewPerson(
        name=mail.name[:200], role=Role.CLIENT, emails=(address,),
        company_id=mail.company_id, language=mail.language))
    ctx.record(e.ContactRegistered(actor=ctx.actor_id, at=ctx.at, channel=cmd.channel,
                                   person_id=person.id, address=address, telegram_id=None))
    return person.id
