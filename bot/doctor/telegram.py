"""Telegram: the token works, and in each configured chat the bot is present and can read
ordinary messages (privacy mode off, or an administrator)."""

from __future__ import annotations

from typing import Any

from bot.doctor import FAIL, OFF, OK, WARN, Finding
from config.settings import Settings

NAME = "telegram"


async def check(settings: Settings) -> list[Finding]:
    from telegram import Bot
    from telegram.error import InvalidToken

    cfg = settings.telegram
    if not cfg.enabled:
        return [Finding(NAME, OFF, "switched off ([telegram] enabled = false)")]
    if not cfg.token:
        return [Finding(NAME, OFF, "no token (TICKETBOT_TELEGRAM_TOKEN or [telegram] token)")]
    bot = Bot(cfg.token, base_url=f"{cfg.api_url}/bot")
    try:
        await bot.initialize()
    except InvalidToken:
        return [Finding(NAME, FAIL, "Telegram refused the token: check "
                                    "TICKETBOT_TELEGRAM_TOKEN or [telegram] token")]
    except Exception as exc:
        return [Finding(NAME, FAIL, f"cannot reach {cfg.api_url}: {exc}")]
    try:
        found = [Finding(NAME, OK, f"token works: the bot is @{bot.username}")]
        if cfg.support_chat_id is None:
            found.append(Finding(NAME, WARN, "no support_chat_id: no first line in a group; "
                                             "`ticketbot telegram whoami` shows the group's id"))
        else:
            found.append(await _chat(bot, cfg.support_chat_id, "support_chat_id", FAIL))
        if cfg.staff_chat_id is not None:
            found.append(await _chat(bot, cfg.staff_chat_id, "staff_chat_id", WARN))
        # Each desk's own staff chat (engine/desks.py), once each.
        for i, desk in enumerate(settings.engine.desks.desks):
            if desk.staff_chat_id is not None and desk.staff_chat_id != cfg.staff_chat_id:
                found.append(await _chat(bot, desk.staff_chat_id, f"desks[{i}].staff_chat_id",
                                         WARN))
        return found
    finally:
        await bot.shutdown()


async def _chat(bot: Any, chat_id: int, key: str, severity: str) -> Finding:
    """Present, and reading every message. `severity` is what not reading costs: the first
    line needs it (FAIL); in the staff chat only plain notes are missed (WARN)."""
    from telegram import ChatMember
    from telegram.error import TelegramError

    name = f"{NAME} {key}"
    try:
        chat = await bot.get_chat(chat_id)
    except TelegramError as exc:
        return Finding(name, FAIL, f"the bot cannot open chat {chat_id} ({exc}): add the bot "
                                   f"to it, or fix [telegram] {key}")
    title = chat.title or chat_id
    if bot.can_read_all_group_messages:
        return Finding(name, OK, f"{title!r}: the bot reads every message (privacy mode off)")
    try:
        member = await bot.get_chat_member(chat_id, bot.id)
    except TelegramError as exc:
        return Finding(name, FAIL, f"{title!r}: cannot read the bot's rights ({exc})")
    if member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER):
        return Finding(name, OK, f"{title!r}: the bot is an administrator, it reads every "
                                 f"message")
    return Finding(name, severity, f"{title!r}: privacy mode is on and the bot is not an "
                                   f"administrator, so it sees only commands: make it an "
                                   f"administrator, or send /setprivacy to @BotFather, "
                                   f"choose Disable, then remove the bot and add it again")
