"""`ticketbot telegram ...`: the Telegram channel from a shell, without starting the service.

    ticketbot telegram check            the token, the bot's name, its chats, group privacy
    ticketbot telegram whoami [--seconds N]
                                        for N seconds (default 60), the chats and people
                                        that write to the bot, with their ids as config lines

python-telegram-bot is imported inside the commands: every other `ticketbot` command would
otherwise pay for it (see bot/bootstrap.py)."""

from __future__ import annotations

import argparse
from typing import Any

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
    whoami = telegram.add_parser(
        "whoami", help="list the chats and people writing to the bot, with their ids")
    whoami.add_argument("--seconds", type=int, default=60,
                        help="how long to listen (default: 60)")
    whoami.set_defaults(func=_whoami)


def no_token(settings: Settings) -> str | None:
    """Why there is no token to use, or None."""
    if settings.telegram.token:
        return None
    if not settings.telegram.enabled:
        return "Telegram is switched off ([telegram] enabled = false)"
    return "no bot token: set TICKETBOT_TELEGRAM_TOKEN or [telegram] token"


async def _check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels.telegram import startup
    from bot.channels.telegram.receive.transport import FloodLimits, build_application

    if (why := no_token(settings)) is not None:
        complain(why)
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


async def _whoami(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels.telegram.whoami import listen

    if (why := no_token(settings)) is not None:
        complain(why)
        return 2
    if args.seconds < 1:
        complain("--seconds: at least 1")
        return 2
    from bot import pidfile

    pid = pidfile.running_pid(pidfile.data_dir(settings))
    if pid is not None:
        complain(f"the service is running (pid {pid}) and reads the bot's updates itself; "
                 f"stop it while whoami listens, then start it again (nothing is lost)")
        return 1
    return await listen(settings.telegram, args.seconds, settings.people)
