"""`ticketbot` (also `python -m bot`): run the service, migrate, look at tickets, export."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bot.cli_output import complain
from bot.logs import setup_logging
from config.reader import ConfigError
from config.settings import Settings, load_settings

Runner = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticketbot", description=__doc__)
    parser.add_argument("--config", type=Path, default=None,
                        help="TOML config file (default: $TICKETBOT_CONFIG; none = embedded "
                             "defaults)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrars():
        register(sub)
    return parser


def _registrars() -> list[Callable[[Any], None]]:
    """Every subcommand group, listed explicitly."""
    from bot import cli_core, outbox_cli, stats_cli
    from bot.channels.email import cli as mail_cli

    return [cli_core.register, mail_cli.register, stats_cli.register, outbox_cli.register]


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config or (Path(os.environ["TICKETBOT_CONFIG"])
                           if os.environ.get("TICKETBOT_CONFIG") else None)
    return load_settings(path, os.environ)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        complain(f"config error: {exc}")
        return 2
    setup_logging(settings.log_level)
    func: Runner = args.func
    try:
        return asyncio.run(func(args, settings))
    except KeyboardInterrupt:
        return 130
