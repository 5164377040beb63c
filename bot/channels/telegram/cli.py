"""`ticketbot telegram check`: what the bot sees of its setup, without starting the service:
the token, the bot's name, the chats it should be in, and whether it can read the group."""

from __future__ import annotations

import argparse
from typing import Any

from bot.channels.telegram import startup
from bot.channels.telegram.receive.transport import FloodLimits, build_application
from bot.cli_output import complain, say
from config.settings import Settings

_PROBLEMS = {
    "support_chat": "the bot cannot open the support group (support_chat_id)",
    "staff_chat": "the bot cannot open the staff chat (staff_chat_id)",
    "privacy": "the bot cannot read ordinary group messages: make it an administrator, or "
               "turn privacy mode off in @BotFather (/setprivacy) and add it again",
}




def register(sub: Any) -> None:
    telegram = sub.add_parser("telegram", help="the Telegram channel").add_subparsers(
        dest="telegram_command", required=True, metavar="ACTION")
    telegram.add_parser("check", help="check the token, the chats and group privacy") \
        .set_defaults(func=_check)


async def _check(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram.token:
        complain("no bot token: set TICKETBOT_TELEGRAM_TOKEN or [telegram] token")
        return 2
    app = build_application(settings.telegram, FloodLimits()).app
    try:
        me = await startup.connect(app)
        say(f"bot: @{me.username} (id {me.id})")
        found = await startup.problems(app.bot, settings.telegram)
    except startup.TelegramStartError as exc:
        complain(str(exc))
        return 1
    finally:
        await app.shutdown()
    for problem in found:
        say(f"problem: {_PROBLEMS[problem]}")
    say("ok" if not found else f"{len(found)} problem(s)")
    return 0 if not found else 1
