"""`ticketbot telegram whoami`: for a bounded time, the chats and people that write to the
bot, printed as they appear and then as lines to paste into the config.

It only peeks: getUpdates without an offset confirms nothing, so every update stays queued at
Telegram for the service (which journals and answers it when it starts). Telegram answers a
peek at once while updates are waiting, hence the pause between peeks."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from bot.cli_output import complain, say
from config.settings import TelegramConfig
from engine.directory import PersonSpec

POLL_SECONDS = 25     # the longest single long poll
PEEK_PAUSE = 2.0      # between peeks while updates are waiting (each peek returns them all)
GROUP_TYPES = ("group", "supergroup", "channel")


@dataclass
class Seen:
    """Chats (groups) and people, in the order they first wrote."""

    chats: dict[int, str] = field(default_factory=dict)
    people: dict[int, tuple[str, str | None]] = field(default_factory=dict)

    def add(self, update: Update) -> list[str]:
        """What this update shows for the first time, as lines for the terminal."""
        news: list[str] = []
        chat, user = update.effective_chat, update.effective_user
        if chat is not None and chat.type in GROUP_TYPES and chat.id not in self.chats:
            self.chats[chat.id] = f'{chat.title or "?"} ({chat.type})'
            news.append(f"chat {chat.id}: {self.chats[chat.id]}")
        if user is not None and not user.is_bot and user.id not in self.people:
            self.people[user.id] = (user.full_name, user.username)
            at = f" @{user.username}" if user.username else ""
            news.append(f"person {user.id}: {user.full_name}{at}")
        return news


async def listen(cfg: TelegramConfig, seconds: int,
                 known: tuple[PersonSpec, ...] = ()) -> int:
    assert cfg.token
    bot = Bot(cfg.token, base_url=f"{cfg.api_url}/bot",
              get_updates_request=HTTPXRequest(read_timeout=POLL_SECONDS + 10))
    try:
        await bot.initialize()
    except InvalidToken:
        complain("Telegram refused the bot token: check TICKETBOT_TELEGRAM_TOKEN or "
                 "[telegram] token")
        return 1
    try:
        say(f"Listening for {seconds} s as @{bot.username}. Write to the bot in a private "
            f"chat, and in each group send /start@{bot.username} (a bot in privacy mode sees "
            f"only commands and mentions).")
        seen = Seen()
        await _peek_until(bot, seconds, seen)
    except Conflict:
        complain("another program reads this bot's updates (is `ticketbot run` running? stop "
                 "it for a minute) or a webhook is set")
        return 1
    except TelegramError as exc:
        complain(f"Telegram: {exc}")
        return 1
    finally:
        await bot.shutdown()
    for line in paste_lines(seen, known):
        say(line)
    return 0


async def _peek_until(bot: Bot, seconds: int, seen: Seen) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        updates = await bot.get_updates(timeout=max(1, int(min(left, POLL_SECONDS))),
                                        allowed_updates=Update.ALL_TYPES)
        for update in updates:
            for line in seen.add(update):
                say(line)
        if updates:
            await asyncio.sleep(min(PEEK_PAUSE, max(0.0, deadline - loop.time())))


def paste_lines(seen: Seen, known: tuple[PersonSpec, ...] = ()) -> list[str]:
    """The chats as [telegram] keys (commented: pick one for each) and each person not in
    the config yet as a [[people]] entry to complete."""
    if not seen.chats and not seen.people:
        return ["", "Nobody wrote to the bot meanwhile."]
    lines = ["", "# --- for the config file ---"]
    if seen.chats:
        lines.append("# [telegram]: the group where employees ask is support_chat_id, the "
                     "specialists' chat is staff_chat_id")
        lines += [f"# support_chat_id = {cid}   # or staff_chat_id: {title}"
                  for cid, title in seen.chats.items()]
    by_id = {p.telegram_id: p.name for p in known if p.telegram_id is not None}
    for uid, (name, username) in seen.people.items():
        if uid in by_id:
            lines.append(f"# {name} ({uid}) is in the config already as {by_id[uid]!r}")
            continue
        lines += ["", "[[people]]", f"name = {json.dumps(name, ensure_ascii=False)}",
                  'role = "specialist"   # admin, lead, specialist or client',
                  f"telegram_id = {uid}"]
        if username:
            lines.append(f"username = {json.dumps(username)}")
    return lines
