"""What the bot checks when it starts: the token works, it is in its chats, and it can read
every message of the support group (privacy mode off, or an administrator). What to change
is said in the log and, for the group setup, in the staff chat."""

from __future__ import annotations

import logging

from telegram import Bot, ChatMember
from telegram.error import InvalidToken, TelegramError

from bot.channels.telegram.context import Me
from bot.channels.telegram.receive.transport import TelegramApp
from bot.supervise import StartError
from config.settings import TelegramConfig

log = logging.getLogger("ticketbot.telegram")

ADMIN_STATUSES = (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


class TelegramStartError(StartError):
    """The bot cannot run with this configuration; the message says what to change."""


async def connect(app: TelegramApp) -> Me:
    """getMe through `initialize`; a wrong or revoked token stops the start right here."""
    try:
        await app.initialize()
    except InvalidToken:
        raise TelegramStartError(
            "Telegram refused the bot token (Unauthorized). Check TICKETBOT_TELEGRAM_TOKEN or "
            "[telegram] token; a token revoked in @BotFather must be replaced by the new one."
        ) from None
    me = app.bot
    return Me(id=me.id, username=me.username)


async def problems(bot: Bot, cfg: TelegramConfig,
                   desk_chats: tuple[int, ...] = ()) -> list[str]:
    """Setup problems, each logged; the caller tells the staff chat about the group's.
    `desk_chats`: the desks' own staff chats (engine/desks.py)."""
    found: list[str] = []
    if cfg.support_chat_id is None:
        log.warning("[telegram] support_chat_id is not set: no first line, only private "
                    "chats and the staff chat")
    else:
        found += await _support_chat(bot, cfg.support_chat_id)
    if cfg.staff_chat_id is not None and not await _reachable(bot, cfg.staff_chat_id, "staff"):
        found.append("staff_chat")
    for chat in desk_chats:
        if chat != cfg.staff_chat_id and not await _reachable(bot, chat, "desk staff"):
            found.append("staff_chat")
    return found


async def _support_chat(bot: Bot, chat_id: int) -> list[str]:
    if not await _reachable(bot, chat_id, "support"):
        return ["support_chat"]
    if bot.can_read_all_group_messages:
        return []
    try:
        member = await bot.get_chat_member(chat_id, bot.id)
    except TelegramError as exc:
        log.warning("could not read the bot's rights in the support group: %s", exc)
        return []
    if member.status in ADMIN_STATUSES:
        return []
    log.warning("the bot cannot read ordinary messages in the support group %s: privacy mode "
                "is on and it is not an administrator. Make it an administrator of the group, "
                "or in @BotFather send /setprivacy, choose Disable, then remove the bot from "
                "the group and add it again", chat_id)
    return ["privacy"]


async def _reachable(bot: Bot, chat_id: int, which: str) -> bool:
    try:
        await bot.get_chat(chat_id)
    except TelegramError as exc:
        log.error("the bot cannot open the %s chat %s (%s): check [telegram] %s_chat_id and "
                  "that the bot was added to that chat", which, chat_id, exc, which)
        return False
    return True
