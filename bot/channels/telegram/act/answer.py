"""Answering the person who wrote, in their chat and language, through the outbox."""

from __future__ import annotations

from bot.channels.telegram.context import Desk
from bot.channels.telegram.deliver.outbound import Reply
from bot.channels.telegram.deliver.render import Buttons, clip, esc
from bot.channels.telegram.receive.inbound import ChatMessage


def answer_key(msg: ChatMessage) -> str:
    """One answer per message: a replayed update finds its answer already queued."""
    return f"tg:answer:{msg.chat_id}:{msg.message_id}"


async def say(desk: Desk, msg: ChatMessage, text: str, lang: str, *,
              ticket: int | None = None) -> None:
    """Plain text (an i18n sentence that may quote what the person typed), escaped."""
    await say_html(desk, msg, esc(clip(text)), lang, ticket=ticket)


async def say_html(desk: Desk, msg: ChatMessage, html: str, lang: str, *,
                   ticket: int | None = None, buttons: Buttons | None = None) -> None:
    reply = Reply(chat_id=msg.chat_id, html=html, reply_to=msg.message_id, ticket=ticket,
                  buttons=buttons, thread_id=msg.thread_id)
    await desk.outbound.reply(answer_key(msg), reply, lang)
