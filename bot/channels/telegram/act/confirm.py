"""A visible "done" for a staff command in the support group: a ✅ reaction on the command
itself, so whoever typed it sees it took, without a message for every member to read;
where the group allows no reactions, a one-line reply instead. The reaction is no message,
so it goes to the Bot API at once, not through the outbox (like a button's toast)."""

from __future__ import annotations

import logging

from telegram import ReactionTypeEmoji
from telegram.error import TelegramError

from bot.channels.telegram.act.answer import say
from bot.channels.telegram.context import Desk
from bot.channels.telegram.receive.inbound import ChatMessage

log = logging.getLogger("ticketbot.telegram")

DONE = "✅"


async def confirm(desk: Desk, msg: ChatMessage, text: str, lang: str) -> None:
    if not await _reacted(desk, msg):
        await say(desk, msg, text, lang)


async def _reacted(desk: Desk, msg: ChatMessage) -> bool:
    try:
        await desk.bot.set_message_reaction(msg.chat_id, msg.message_id,
                                            ReactionTypeEmoji(DONE))
    except TelegramError as exc:
        log.info("no reaction in chat %s (%s): answering in words", msg.chat_id, exc)
        return False
    return True
