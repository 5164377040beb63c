"""`ticketbot doctor`: every check an installation needs, one line each, OK or what to do.
`ticketbot run` performs the same checks at start (those about other programs) and logs them.

    config      which file (or the embedded defaults) and the time zone
    database    reachable, migrated, writable                          (database.py)
    mail        SMTP intake port, IMAP login and folders, SMTP relay    (mail.py)
    telegram    the token, the bot's rights in each chat               (telegram.py)
    staff       who of the staff cannot be reached on any channel      (staff.py)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings, machine_timezone

OK, WARN, FAIL, OFF = "ok", "warn", "fail", "off"
TIMEOUT = 15.0  # seconds any one check may take (a server that does not answer)


@dataclass(frozen=True)
class Finding:
    check: str
    state: str   # OK, WARN (works, but something to do), FAIL (needed and broken), OFF
    text: str

    def line(self) -> str:
        return f"{self.state.upper():<4} {self.check}: {self.text}"


Check = Callable[[Settings], Awaitable[list[Finding]]]


def config_findings(settings: Settings, path: Path | None) -> list[Finding]:
    source = str(path) if path is not None else \
        "none given (--config or TICKETBOT_CONFIG): the embedded defaults"
    machine = machine_timezone()
    zone = (f"{settings.timezone} (this machine's)" if settings.timezone == machine
            else f"{settings.timezone} (from [service] timezone; this machine's is {machine})")
    return [Finding("config", OK, source), Finding("time zone", OK, zone)]


def checks(*, with_database: bool = True, with_intake_port: bool = True) -> list[Check]:
    """Every check, in the order printed; `run` leaves out the database (its start has just
    migrated it) and the intake port (it is about to listen there itself)."""
    from bot.doctor import database, mail, staff, telegram

    found: list[Check] = []
    if with_database:
        found.append(database.check)
    if with_intake_port:
        found.append(mail.intake_port)
    return [*found, mail.imap, mail.relay, telegram.check, staff.check]


async def diagnose(settings: Settings, selected: list[Check]) -> list[Finding]:
    """All the checks at once, each bounded by TIMEOUT; results in the order given."""
    results = await asyncio.gather(*(_bounded(c, settings) for c in selected))
    return [finding for found in results for finding in found]


async def _bounded(check: Check, settings: Settings) -> list[Finding]:
    name = check.__module__.rpartition(".")[2]  # database, mail, telegram, staff
    try:
        return await asyncio.wait_for(check(settings), TIMEOUT)
    except TimeoutError:
        return [Finding(name, FAIL, f"no answer within {TIMEOUT:.0f} s")]
    except Exception as exc:  # a broken check is a finding, not the end of the others
        return [Finding(name, FAIL, f"{type(exc).__name__}: {exc}")]


def healthy(findings: list[Finding]) -> bool:
    return not any(f.state == FAIL for f in findings)
