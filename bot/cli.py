"""`ticketbot` (also `python -m bot`): run the service, migrate, look at tickets, export."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_output import complain
from bot.logs import LOG_FORMATS

if TYPE_CHECKING:
    from config.settings import Settings

Runner = Callable[[argparse.Namespace, "Settings"], Coroutine[Any, Any, int]]

# Every top-level command: the module whose `register` declares it and its line in
# `ticketbot --help`. Only the module of the command given is imported: `--help` and a cron
# `mail fetch --once` do not pay for the imports of every other command (SQLAlchemy, the SLA
# calendars, python-telegram-bot). A module's own `help=` serves when it registers alone
# (tests); tests/test_cli_startup.py checks the two say the same.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("bot.cli_core", "run the service (mail, Telegram, scheduled jobs)"),
    "attachment": ("bot.files_cli", "a ticket's files"),  # issue 12: bot/files_cli.py
    "db": ("bot.cli_core", "database maintenance"),
    "ticket": ("bot.cli_core", "look at tickets"),
    "export": ("bot.cli_core", "write everything stored as one JSON document"),
    "mail": ("bot.channels.email.cli", "the mail channel: fetch, process, send"),
    "telegram": ("bot.channels.telegram.cli", "the Telegram channel"),
    "stats": ("bot.stats_cli", "response and resolution figures for a month"),
    "outbox": ("bot.outbox_cli", "deliveries given up: list, retry"),
    "doctor": ("bot.admin_cli", "check the config, database, mail and Telegram; exit 0 only "
                                "when everything needed works"),
    "reload": ("bot.admin_cli", "make the running service re-read people and companies "
                                "(SIGHUP)"),
    # F11: the directories (bot/directory_cli.py).
    "directory": ("bot.directory_cli", "directories as CSV files: import, export"),
    **{word: ("bot.directory_cli", f"the {kind} directory: add, show, list")
       for word, kind in (("company", "companies"), ("contact", "contacts"),
                          ("contract", "contracts"), ("object", "objects"),
                          ("equipment", "equipment"))},
}
_GLOBAL_WITH_VALUE = frozenset({"--config", "--log-format"})


class _OneCommand:
    """The subcommands action as a module's `register` sees it: the command `name` is added
    for real, the module's other commands are left to their own lines in `COMMANDS`."""

    def __init__(self, sub: Any, name: str) -> None:
        self._sub = sub
        self._name = name

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name != self._name:
            return argparse.ArgumentParser(prog=name, add_help=False)  # thrown away
        kwargs["help"] = COMMANDS[name][1]
        parser: argparse.ArgumentParser = self._sub.add_parser(name, **kwargs)
        return parser


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: every command is listed, and the one `argv` names (all of
    them when `argv` is None) is declared in full by its module."""
    parser = argparse.ArgumentParser(prog="ticketbot", description=__doc__)
    _global_options(parser, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = set(COMMANDS) if argv is None else {_command_in(argv)}
    for name, (module, help_line) in COMMANDS.items():
        if name in wanted:
            importlib.import_module(module).register(_OneCommand(sub, name))
        else:
            sub.add_parser(name, help=help_line)
    # `ticketbot run --config FILE` as well as `ticketbot --config FILE run`: every
    # subcommand takes the global options too; given in both places, the later one wins.
    for command in _subparsers(parser):
        _global_options(command, argparse.SUPPRESS)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The command `argv` names (its first word that is not a global option)."""
    words = iter(argv)
    for word in words:
        if word in _GLOBAL_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--config", type=Path, default=default,
                        help="TOML config file (default: $TICKETBOT_CONFIG; none = embedded "
                             "defaults)")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default=default,
                        help="log lines as text (default) or one JSON object per line")


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps no public list of its subcommands
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield child
                yield from _subparsers(child)


def config_path(args: argparse.Namespace) -> Path | None:
    """`--config`, else $TICKETBOT_CONFIG, else none (the embedded defaults)."""
    path: Path | None = getattr(args, "config", None)
    if path is None and os.environ.get("TICKETBOT_CONFIG"):
        path = Path(os.environ["TICKETBOT_CONFIG"])
    return path


def _settings(args: argparse.Namespace) -> Settings:
    from config.settings import load_settings

    return load_settings(config_path(args), os.environ)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    # Imported once a command is to run: `--help` and a mistyped command stay instant.
    from sqlalchemy.exc import SQLAlchemyError

    from bot.logs import redact, setup_logging
    from config.reader import ConfigError
    from config.settings import secrets_of

    try:
        settings = _settings(args)
    except ConfigError as exc:
        complain(f"config error: {exc}")
        return 2
    setup_logging(settings.log_level, getattr(args, "log_format", None) or "text",
                  secrets_of(settings))
    func: Runner = args.func
    try:
        return asyncio.run(func(args, settings))
    except ConfigError as exc:  # a cross-reference only the database can check
        complain(f"config error: {exc}")
        return 2
    except (OSError, SQLAlchemyError) as exc:  # a server or file out of reach: one line
        complain(redact(_one_line(exc), secrets_of(settings))
                 + " (`ticketbot doctor` checks the whole setup)")
        return 1
    except KeyboardInterrupt:
        return 130
