"""The administrator's commands: `ticketbot doctor` (is everything needed working?) and
`ticketbot reload` (people and companies from the config file, without a restart)."""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

from bot.cli_output import complain, say
from config.settings import Settings


def register(sub: Any) -> None:
    sub.add_parser("doctor", help="check the config, database, mail and Telegram; exit 0 "
                                  "only when everything needed works").set_defaults(func=_doctor)
    sub.add_parser("reload", help="make the running service re-read people and companies "
                                  "(SIGHUP)").set_defaults(func=_reload)


async def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import config_path
    from bot.doctor import checks, config_findings, diagnose, healthy

    findings = config_findings(settings, config_path(args))
    findings += await diagnose(settings, checks())
    for finding in findings:
        say(finding.line())
    ok = healthy(findings)
    say("everything needed works" if ok else "something needed does not work (FAIL above)")
    return 0 if ok else 1


async def _reload(args: argparse.Namespace, settings: Settings) -> int:
    from bot import pidfile

    # The config has just loaded here without error, so the service will take it too.
    folder = pidfile.data_dir(settings)
    pid = pidfile.running_pid(folder)
    if pid is None:
        complain(f"no running service found ({folder / pidfile.NAME}); nothing to reload")
        return 1
    os.kill(pid, signal.SIGHUP)
    say(f"asked the service (pid {pid}) to reload people and companies; its log says what "
        f"changed")
    return 0
