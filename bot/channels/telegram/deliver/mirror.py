"""The reactor that keeps Telegram in step with tickets, inside the command's transaction:
the card edits and chat posts an event needs are outbox rows committed with the change.

* A ticket asked in the support group gets its status card there, under the question;
  the staff chat (when configured) gets a card for every ticket.
* A ticket that came by mail (or anywhere outside the group) is posted to the staff chat
  with its text, and each later comment shows up under that post (F7).
* A specialist's public answer given elsewhere (`/reply` in the staff chat, a mail) is
  posted in the group thread, so the asker sees it where they asked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bot.attachments import request_of
from bot.channels.telegram.deliver import outbound
from bot.channels.telegram.deliver.render import esc, lines, mention, quote
from bot.channels.telegram.deskchats import staff_chat, staff_chats
from bot.channels.telegram.understand.refs import MessageRef, parse_ref
from bot.i18n import comment_text, t
from config.settings import Settings
from engine import events as e
from engine.bus import Reactor
from engine.context import Context
from engine.model import Comment, Ticket
from engine.notify import grace
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem

POST_LIMIT = 3000
UNDO_PREFIX = "undo:"


def telegram_reactors(settings: Settings) -> list[Reactor]:
    """[] unless the bot has a token and a chat to keep in step."""
    tg = settings.telegram
    if not tg.token or (tg.support_chat_id is None and not staff_chats(settings)):
        return []

    async def mirror(ctx: Context, event_id: int, event: e.Event) -> None:
        ticket = await ctx.uow.tickets.get(event.ticket)
        if ticket is None:
            return
        for item in await _items(settings, ctx, event_id, event, ticket):
            await ctx.uow.outbox.enqueue(item)

    return [mirror]


def _group_thread(settings: Settings, ticket: Ticket) -> MessageRef | None:
    if ticket.internal:  # seed 003: never in the group, whose members are clients
        return None
    source = parse_ref(ticket.source_ref)
    if source is None or source.chat_id != settings.telegram.support_chat_id:
        return None
    return source


async def _items(settings: Settings, ctx: Context, event_id: int, event: e.Event,
                 ticket: Ticket) -> list[OutboxItem]:
    items: list[OutboxItem] = []
    if event.kind in NoticeKind.CARD.events:
        items += _cards(settings, event_id, ticket, await _asker_language(settings, ctx, ticket))
    if isinstance(event, e.TicketOpened) and _group_thread(settings, ticket) is None:
        items += await _opened_elsewhere(settings, ctx, event_id, ticket)
    if isinstance(event, e.CommentAdded):
        items += await _comment_posts(settings, ctx, event_id, event, ticket)
    if isinstance(event, e.CommentWithdrawn):
        items += await _withdrawn_echo(settings, ctx, event)
    if isinstance(event, e.TicketMoved):
        items += await _moved(settings, ctx, event_id, event, ticket)
    return items


async def _moved(settings: Settings, ctx: Context, event_id: int, event: e.TicketMoved,
                 ticket: Ticket) -> list[OutboxItem]:
    """`/move`: the new desk's staff chat gets the ticket (its card and its text, as for a
    new ticket), the old one a short line saying where it went."""
    old, new = staff_chat(settings, event.old), staff_chat(settings, event.new)
    if old == new:
        return []
    lang = settings.language
    items: list[OutboxItem] = []
    if new is not None:
        items.append(outbound.card_item(f"tg:card:{new}:{ticket.number}:{event_id}",
                                        ticket.number, new, None, lang))
        items += await _opened_elsewhere(settings, ctx, event_id, ticket)
    if old is not None:
        mover = await _name(ctx, event.actor) or t(lang, "tg.someone")
        html = esc(t(lang, "tg.post.moved", number=f"{settings.engine.ticket_prefix}"
                     f"{ticket.number}", desk=event.new, name=mover))
        items.append(outbound.reply_item(f"tg:moved:{old}:{event_id}", outbound.Reply(
            chat_id=old, html=html, ticket=ticket.number), lang))
    return items


async def _asker_language(settings: Settings, ctx: Context, ticket: Ticket) -> str:
    asker = None if ticket.requester_id is None else \
        await ctx.uow.people.get(ticket.requester_id)
    return settings.language if asker is None else asker.language


def _cards(settings: Settings, event_id: int, ticket: Ticket,
           asker_language: str) -> list[OutboxItem]:
    """The group's card is for the asker, in their language; the staff chat's in the
    service's."""
    lang, items = settings.language, []
    thread = _group_thread(settings, ticket)
    if thread is not None:
        items.append(outbound.card_item(f"tg:card:{thread.chat_id}:{ticket.number}:{event_id}",
                                        ticket.number, thread.chat_id, thread.message_id,
                                        asker_language))
    staff = staff_chat(settings, ticket.desk)
    if staff is not None:
        items.append(outbound.card_item(f"tg:card:{staff}:{ticket.number}:{event_id}",
                                        ticket.number, staff, None, lang))
    return items


async def _opened_elsewhere(settings: Settings, ctx: Context, event_id: int,
                            ticket: Ticket) -> list[OutboxItem]:
    staff = staff_chat(settings, ticket.desk)
    if staff is None:
        return []
    lang = settings.language
    requester = await _name(ctx, ticket.requester_id) or t(lang, "tg.someone")
    html = lines(esc(t(lang, "tg.post.opened", name=requester, channel=ticket.channel)),
                 quote(ticket.description, POST_LIMIT))
    # The request's files follow the post, unless they were posted in the staff chat itself.
    request = request_of(await ctx.uow.comments.for_ticket(ticket.number))
    source = parse_ref(ticket.source_ref)
    here = source is not None and source.chat_id == staff
    return [outbound.post_item(f"tg:post:{staff}:{event_id}", ticket.number, staff, html, lang,
                               files_of=None if request is None or here else request.id)]


async def _comment_posts(settings: Settings, ctx: Context, event_id: int,
                         event: e.CommentAdded, ticket: Ticket) -> list[OutboxItem]:
    comment = next((c for c in await ctx.uow.comments.for_ticket(ticket.number)
                    if c.id == event.comment_id), None)
    if comment is None:
        return []
    source = parse_ref(comment.source_ref)
    from_chat = None if source is None else source.chat_id
    items = []
    until = grace.held_until(ctx)
    thread = _group_thread(settings, ticket)
    if thread is not None and event.public and event.by_staff and from_chat != thread.chat_id:
        post = await _group_answer(settings, ctx, event_id, thread, comment, ticket)
        items.append(replace(post, not_before=until, cause=grace.cause(event_id, event, until)))
    staff = staff_chat(settings, ticket.desk)
    if staff is not None and from_chat != staff:
        kind = "note" if not event.public else "answer" if event.by_staff else "client"
        items.append(await _post(settings, ctx, event_id, staff, comment, kind))
    if source is not None and from_chat in staff_chats(settings) and event.public and \
            event.by_staff:
        items += await _echo(settings, ctx, event_id, source, ticket, until)
    return items


async def _echo(settings: Settings, ctx: Context, event_id: int, source: MessageRef,
                ticket: Ticket, until: dt.datetime | None) -> list[OutboxItem]:
    """Under `/reply` in the staff chat: where the public answer went, so nobody wonders
    whether the client saw it. While it waits out its grace period the echo says where it
    will go, when, and how to take it back; once the answer leaves, an edit (held with the
    answer, so `/undo` withdraws it too) says it was sent."""
    lang = await _language(ctx, settings)
    sent = await _where(settings, ctx, ticket, lang, "")
    key = f"tg:echo:{source.chat_id}:{event_id}"
    if until is None or not sent:
        html = esc("\n".join(sent) or t(lang, "tg.echo.saved"))
        reply = outbound.Reply(chat_id=source.chat_id, html=html, reply_to=source.message_id,
                               ticket=ticket.number)
        return [outbound.reply_item(key, reply, lang)]
    seconds = ctx.settings.answer_grace_seconds
    waiting = await _where(settings, ctx, ticket, lang, "_held", seconds=seconds)
    waiting[0] += t(lang, "tg.echo.undo_hint")
    reply = outbound.Reply(chat_id=source.chat_id, html=esc("\n".join(waiting)),
                           reply_to=source.message_id, ticket=ticket.number,
                           buttons=[[{"text": t(lang, "tg.echo.undo"),
                                      "data": undo_data(event_id)}]])
    gone = outbound.echo_edit_item(f"{key}:sent", source.chat_id, key, esc("\n".join(sent)),
                                   lang)
    return [outbound.reply_item(key, reply, lang),
            replace(gone, not_before=until, cause=event_id)]


async def _where(settings: Settings, ctx: Context, ticket: Ticket, lang: str, mood: str,
                 **params: object) -> list[str]:
    """A line per place the answer goes: `mood` "" (it went) or "_held" (it will go)."""
    requester = None if ticket.requester_id is None else \
        await ctx.uow.people.get(ticket.requester_id)
    where = []
    if requester is not None and requester.emails:
        where.append(t(lang, f"tg.echo.mailed{mood}", name=requester.name,
                       address=requester.emails[0], **params))
    if _group_thread(settings, ticket) is not None:
        where.append(t(lang, f"tg.echo.group{mood}", **params))
    return where


async def _withdrawn_echo(settings: Settings, ctx: Context, event: e.CommentWithdrawn,
                          ) -> list[OutboxItem]:
    """`/undo` (typed or the button): the echo of the answer says it was not sent, in its
    author's language, without the button. Only an answer given in the staff chat has one."""
    comment = next((c for c in await ctx.uow.comments.for_ticket(event.ticket)
                    if c.id == event.comment_id), None)
    source = None if comment is None else parse_ref(comment.source_ref)
    if comment is None or source is None or source.chat_id not in staff_chats(settings):
        return []
    author = None if comment.author_id is None else await ctx.uow.people.get(comment.author_id)
    lang = settings.language if author is None else author.language
    key = f"tg:echo:{source.chat_id}:{event.cause}"
    return [outbound.echo_edit_item(f"{key}:withdrawn", source.chat_id, key,
                                    esc(t(lang, "withdrawn", number=event.ticket)), lang)]


async def _group_answer(settings: Settings, ctx: Context, event_id: int, thread: MessageRef,
                        comment: Comment, ticket: Ticket) -> OutboxItem:
    """A specialist's answer given elsewhere, in the group where the asker looks: under the
    asker's own message (not the card), naming the ticket and mentioning the asker so
    Telegram notifies them, in the asker's language."""
    asker = None if ticket.requester_id is None else \
        await ctx.uow.people.get(ticket.requester_id)
    lang = settings.language if asker is None else asker.language
    author = await _name(ctx, comment.author_id) or t(lang, "tg.someone")
    head = esc(t(lang, "tg.group.answer", number=f"{settings.engine.ticket_prefix}"
                 f"{ticket.number}", name=author))
    if asker is not None and asker.telegram_id is not None:
        head = f"{mention(asker.telegram_id, asker.name)}, {head}"
    reply = outbound.Reply(chat_id=thread.chat_id, html=lines(head, quote(comment.body,
                                                                          POST_LIMIT)),
                           reply_to=thread.message_id, ticket=ticket.number)
    return outbound.reply_item(f"tg:post:{thread.chat_id}:{event_id}", reply, lang,
                               files_of=comment.id)


async def _language(ctx: Context, settings: Settings) -> str:
    """The language of the person who acted (the echo is for them)."""
    actor = ctx.actor
    return settings.language if actor is None else actor.language


def undo_data(event_id: int) -> str:
    """The echo's button: which answer to withdraw. Nothing to sign: the engine decides
    whether the person pressing may withdraw it."""
    return f"{UNDO_PREFIX}{event_id}"


async def _post(settings: Settings, ctx: Context, event_id: int, chat: int, comment: Comment,
                kind: str) -> OutboxItem:
    lang = settings.language
    author = await _name(ctx, comment.author_id) or t(lang, "tg.someone")
    html = lines(esc(t(lang, f"tg.post.{kind}", name=author, channel=comment.channel)),
                 quote(comment_text(lang, comment.body), POST_LIMIT))
    return outbound.post_item(f"tg:post:{chat}:{event_id}", comment.ticket, chat, html, lang,
                              files_of=comment.id)


async def _name(ctx: Context, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    person = await ctx.uow.people.get(person_id)
    return None if person is None else person.name
