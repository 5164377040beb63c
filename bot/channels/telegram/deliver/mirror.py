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

from bot.channels.telegram.deliver import outbound
from bot.channels.telegram.deliver.render import esc, lines, quote
from bot.channels.telegram.understand.refs import MessageRef, parse_ref
from bot.i18n import comment_text, t
from config.settings import Settings
from engine import events as e
from engine.bus import Reactor
from engine.context import Context
from engine.model import Comment, Ticket
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem

POST_LIMIT = 3000


def telegram_reactors(settings: Settings) -> list[Reactor]:
    """[] unless the bot has a token and a chat to keep in step."""
    tg = settings.telegram
    if not tg.token or (tg.support_chat_id is None and tg.staff_chat_id is None):
        return []

    async def mirror(ctx: Context, event_id: int, event: e.Event) -> None:
        ticket = await ctx.uow.tickets.get(event.ticket)
        if ticket is None:
            return
        for item in await _items(settings, ctx, event_id, event, ticket):
            await ctx.uow.outbox.enqueue(item)

    return [mirror]


def _group_thread(settings: Settings, ticket: Ticket) -> MessageRef | None:
    source = parse_ref(ticket.source_ref)
    if source is None or source.chat_id != settings.telegram.support_chat_id:
        return None
    return source


async def _items(settings: Settings, ctx: Context, event_id: int, event: e.Event,
                 ticket: Ticket) -> list[OutboxItem]:
    items: list[OutboxItem] = []
    if event.kind in NoticeKind.CARD.events:
        items += _cards(settings, event_id, ticket)
    if isinstance(event, e.TicketOpened) and _group_thread(settings, ticket) is None:
        items += await _opened_elsewhere(settings, ctx, event_id, ticket)
    if isinstance(event, e.CommentAdded):
        items += await _comment_posts(settings, ctx, event_id, event, ticket)
    return items


def _cards(settings: Settings, event_id: int, ticket: Ticket) -> list[OutboxItem]:
    lang, items = settings.language, []
    thread = _group_thread(settings, ticket)
    if thread is not None:
        items.append(outbound.card_item(f"tg:card:{thread.chat_id}:{ticket.number}:{event_id}",
                                        ticket.number, thread.chat_id, thread.message_id, lang))
    staff = settings.telegram.staff_chat_id
    if staff is not None:
        items.append(outbound.card_item(f"tg:card:{staff}:{ticket.number}:{event_id}",
                                        ticket.number, staff, None, lang))
    return items


async def _opened_elsewhere(settings: Settings, ctx: Context, event_id: int,
                            ticket: Ticket) -> list[OutboxItem]:
    staff = settings.telegram.staff_chat_id
    if staff is None:
        return []
    lang = settings.language
    requester = await _name(ctx, ticket.requester_id) or t(lang, "tg.someone")
    html = lines(esc(t(lang, "tg.post.opened", name=requester, channel=ticket.channel)),
                 quote(ticket.description, POST_LIMIT))
    return [outbound.post_item(f"tg:post:{staff}:{event_id}", ticket.number, staff, html, lang)]


async def _comment_posts(settings: Settings, ctx: Context, event_id: int,
                         event: e.CommentAdded, ticket: Ticket) -> list[OutboxItem]:
    comment = next((c for c in await ctx.uow.comments.for_ticket(ticket.number)
                    if c.id == event.comment_id), None)
    if comment is None:
        return []
    source = parse_ref(comment.source_ref)
    from_chat = None if source is None else source.chat_id
    items = []
    thread = _group_thread(settings, ticket)
    if thread is not None and event.public and event.by_staff and from_chat != thread.chat_id:
        items.append(await _post(settings, ctx, event_id, thread.chat_id, comment, "answer"))
    staff = settings.telegram.staff_chat_id
    if staff is not None and from_chat != staff:
        kind = "note" if not event.public else "answer" if event.by_staff else "client"
        items.append(await _post(settings, ctx, event_id, staff, comment, kind))
    if source is not None and from_chat == staff and event.public and event.by_staff:
        items.append(await _echo(settings, ctx, event_id, source, ticket))
    return items


async def _echo(settings: Settings, ctx: Context, event_id: int, source: MessageRef,
                ticket: Ticket) -> OutboxItem:
    """Under `/reply` in the staff chat: where the public answer went, so nobody wonders
    whether the client saw it."""
    lang = settings.language
    requester = None if ticket.requester_id is None else \
        await ctx.uow.people.get(ticket.requester_id)
    where = []
    if requester is not None and requester.emails:
        where.append(t(lang, "tg.echo.mailed", name=requester.name,
                       address=requester.emails[0]))
    if _group_thread(settings, ticket) is not None:
        where.append(t(lang, "tg.echo.group"))
    html = esc("\n".join(where) or t(lang, "tg.echo.saved"))
    reply = outbound.Reply(chat_id=source.chat_id, html=html, reply_to=source.message_id,
                           ticket=ticket.number)
    return outbound.reply_item(f"tg:echo:{source.chat_id}:{event_id}", reply, lang)


async def _post(settings: Settings, ctx: Context, event_id: int, chat: int, comment: Comment,
                kind: str) -> OutboxItem:
    lang = settings.language
    author = await _name(ctx, comment.author_id) or t(lang, "tg.someone")
    html = lines(esc(t(lang, f"tg.post.{kind}", name=author, channel=comment.channel)),
                 quote(comment_text(lang, comment.body), POST_LIMIT))
    return outbound.post_item(f"tg:post:{chat}:{event_id}", comment.ticket, chat, html, lang)


async def _name(ctx: Context, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    person = await ctx.uow.people.get(person_id)
    return None if person is None else person.name
