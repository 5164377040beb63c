"""`ticketbot` (also `python -m bot`): run the service, migrate, look at tickets, export."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.cli_output import complain
from bot.logs import LOG_FORMATS, redact, setup_logging
from config.reader import ConfigError
from config.settings import Settings, load_settings, secrets_of

Runner = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticketbot", description=__doc__)
    _global_options(parser, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrars():
        register(sub)
    # `ticketbot run --config FILE` as well as `ticketbot --config FILE run`: every
    # subcommand takes the global options too; given in both places, the later one wins.
    for command in _subparsers(parser):
        _global_options(command, argparse.SUPPRESS)
    return parser


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


def _registrars() -> list[Callable[[Any], None]]:
    """Every subcommand group, listed explicitly."""
    from bot import admin_cli, cli_core, directory_cli, files_cli, outbox_cli, stats_cli
    from bot.channels.email import cli as mail_cli
    from bot.channels.telegram import cli as telegram_cli

    return [cli_core.register, mail_cli.register, telegram_cli.register, stats_cli.register,
            outbox_cli.register, admin_cli.register, directory_cli.register,
            files_cli.register]


def config_path(args: argparse.Namespace) -> Path | None:
    """`--config`, else $TICKETBOT_CONFIG, else none (the embedded defaults)."""
    path: Path | None = getattr(args, "config", None)
    if path is None and os.environ.get("TICKETBOT_CONFIG"):
        path = Path(os.environ["TICKETBOT_CONFIG"])
    return path


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(config_path(args), os.environ)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
