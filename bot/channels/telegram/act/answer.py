"""Answering the person who wrote, in their chat and language, through the outbox."""

from __future__ import annotations

from bot.channels.telegram.context import Desk
from bot.channels.telegram.deliver.outbound import Reply
from bot.channels.telegram.deliver.render import Buttons, clip, esc, mention
from bot.channels.telegram.receive.inbound import ChatMessage
from bot.i18n import t


def answer_key(msg: ChatMessage) -> str:
    """One answer per message: a replayed update finds its answer already queued."""
    return f"tg:answer:{msg.chat_id}:{msg.message_id}"


async def say(desk: Desk, msg: ChatMessage, text: str, lang: str, *,
              ticket: int | None = None, room: int | None = None) -> None:
    """Plain text (an i18n sentence that may quote what the person typed), escaped."""
    await say_html(desk, msg, esc(clip(text)), lang, ticket=ticket, room=room)


async def say_html(desk: Desk, msg: ChatMessage, html: str, lang: str, *,
                   ticket: int | None = None, buttons: Buttons | None = None,
                   room: int | None = None) -> None:
    """`room`: another chat for the answer (`elsewhere`); the message's own chat then only
    hears where it went."""
    if room is not None and room != msg.chat_id:
        await _elsewhere(desk, msg, html, lang, ticket, room)
        return
    reply = Reply(chat_id=msg.chat_id, html=html, reply_to=msg.message_id, ticket=ticket,
                  buttons=buttons, thread_id=msg.thread_id)
    await desk.outbound.reply(answer_key(msg), reply, lang)


async def _elsewhere(desk: Desk, msg: ChatMessage, html: str, lang: str, ticket: int | None,
                     room: int) -> None:
    author = msg.author
    head = "" if author is None or room == author.id else mention(author.id, author.name) + "\n"
    await desk.outbound.reply(f"{answer_key(msg)}:{room}",
                              Reply(chat_id=room, html=head + html, ticket=ticket), lang)
    where = "tg.elsewhere.private" if author is not None and room == author.id \
        else "tg.elsewhere.staff"
    await desk.outbound.reply(answer_key(msg), Reply(
        chat_id=msg.chat_id, html=esc(t(lang, where)), reply_to=msg.message_id,
        thread_id=msg.thread_id), lang)


async def elsewhere(desk: Desk, msg: ChatMessage, is_staff: bool,
                    about: int | None, group_ticket: bool) -> int | None:
    """Where a command in the support group is answered when the answer shows what the
    group's members must not read (a client's mail ticket, lists of tickets): the staff
    chat for staff, else the person's private chat. None: answer in place."""
    if not desk.is_support(msg.chat_id) or msg.author is None:
        return None
    if about is not None and group_ticket:
        return None
    if is_staff and desk.tg.staff_chat_id is not None:
        return desk.tg.staff_chat_id
    return msg.author.id
