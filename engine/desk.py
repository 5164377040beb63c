"""The service desk's own records, about no ticket: contacts registered from mail, addresses
we stop mailing, mails the intake leaves alone, the first line's questions and answers.
Each is a command with a desk event, so staff can see in the event log (and `ticketbot
export`) what the service decided and why."""

from __future__ import annotations

from engine import commands as c
from engine import errors
from engine import events as e
from engine.context import Context
from engine.dialogs import Dialog
from engine.model import Role
from engine.ports import NewPerson


def _service_or_staff(ctx: Context, action: str) -> None:
    """The service (mail intake) does these; a client never does."""
    if ctx.actor is not None and not ctx.actor.role.is_staff:
        raise errors.NotAllowed(action=action, role=ctx.actor.role.value)


def normalise_address(address: str) -> str:
    return address.strip().lower()


async def register_contact(ctx: Context, cmd: c.RegisterContact) -> None:
    _service_or_staff(ctx, "register_contact")
    address = None if cmd.address is None else normalise_address(cmd.address)
    if not address and cmd.telegram_id is None:
        raise errors.InvalidValue(field="address", value=cmd.address or "",
                                  reason="a mail address or a Telegram id is needed")
    found = await (ctx.uow.people.by_email(address) if address
                   else ctx.uow.people.by_telegram(cmd.telegram_id or 0))
    if found is not None:
        ctx.contact = found
        return
    person = await ctx.uow.people.add_unless_known(NewPerson(
        name=cmd.name[:200], role=Role.CLIENT, emails=(address,) if address else (),
        telegram_id=cmd.telegram_id, company_id=cmd.company_id, language=cmd.language))
    if person is None:  # another worker registered them a moment ago
        found = await (ctx.uow.people.by_email(address) if address
                       else ctx.uow.people.by_telegram(cmd.telegram_id or 0))
        ctx.contact = found
        return
    ctx.contact = person
    ctx.record(e.ContactRegistered(actor=ctx.actor_id, at=ctx.at, channel=cmd.channel,
                                   person_id=person.id, address=address,
                                   telegram_id=cmd.telegram_id))


async def suppress_address(ctx: Context, cmd: c.SuppressAddress) -> None:
    _service_or_staff(ctx, "suppress_address")
    address = normalise_address(cmd.address)
    await ctx.uow.suppressions.add(address, cmd.reason, ctx.at)
    ctx.record(e.AddressSuppressed(actor=ctx.actor_id, at=ctx.at, channel=cmd.channel,
                                   address=address, reason=cmd.reason))


async def unsuppress_address(ctx: Context, cmd: c.UnsuppressAddress) -> None:
    _service_or_staff(ctx, "unsuppress_address")
    address = normalise_address(cmd.address)
    was = await ctx.uow.suppressions.remove(address)
    if was is not None:
        ctx.record(e.AddressUnsuppressed(actor=ctx.actor_id, at=ctx.at, channel=cmd.channel,
                                         address=address, reason=cmd.reason,
                                         suppressed_for=was))


async def ignore_mail(ctx: Context, cmd: c.IgnoreMail) -> None:
    """The actor is the sender when the intake knew them (a refused command or vote):
    the decision is the service's, the mail was theirs."""
    ctx.record(e.MailIgnored(actor=ctx.actor_id, at=ctx.at, channel=cmd.channel,
                             inbound_id=cmd.inbound_id, reason=cmd.reason, rule=cmd.rule))


async def retry_delivery(ctx: Context, cmd: c.RetryDelivery) -> None:
    _service_or_staff(ctx, "retry_delivery")
    if not await ctx.uow.outbox.retry(cmd.outbox_id):
        raise errors.InvalidValue(field="outbox_id", value=str(cmd.outbox_id),
                                  reason="no delivery set aside with this id")
    ctx.record(e.DeliveryRetried(actor=ctx.actor_id, at=ctx.at, channel=cmd.channel,
                                 outbox_id=cmd.outbox_id))


async def record_dialogs(ctx: Context, cmd: c.RecordDialogs) -> None:
    """Store a batch of the first line's changes; a dialog stored for the first time was
    asked, one stored unanswered (or new) and answered now was answered. What is stored
    decides, not the batch: a batch sent again after a restart records nothing twice."""
    _service_or_staff(ctx, "record_dialogs")
    before = await ctx.uow.dialogs.answered([d.key for d in cmd.dialogs])
    await ctx.uow.dialogs.save(cmd.dialogs)
    await ctx.uow.dialogs.save_messages(cmd.messages)
    await ctx.uow.dialogs.settle(cmd.settles)
    for dialog in cmd.dialogs:
        if dialog.key not in before:
            _asked(ctx, cmd, dialog)
        if dialog.answered_at is not None and not before.get(dialog.key, False):
            _answered(ctx, cmd, dialog)


def _asked(ctx: Context, cmd: c.Command, dialog: Dialog) -> None:
    ctx.record(e.QuestionAsked(actor=dialog.author_id, at=dialog.started_at, channel=cmd.channel,
                               dialog=dialog.key, chat_id=dialog.chat_id))


def _answered(ctx: Context, cmd: c.Command, dialog: Dialog) -> None:
    assert dialog.answered_at is not None and dialog.response_seconds is not None
    ctx.record(e.QuestionAnswered(actor=dialog.answered_by, at=dialog.answered_at,
                                  channel=cmd.channel, dialog=dialog.key,
                                  chat_id=dialog.chat_id, asked_by=dialog.author_id,
                                  response_seconds=dialog.response_seconds,
                                  became=dialog.ticket))
