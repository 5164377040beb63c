"""Staff nobody can reach: notices go by mail (an address and a relay) or by Telegram (a
Telegram id and a bot token), as `notify_via` allows."""

from __future__ import annotations

from bot.doctor import OK, WARN, Finding
from config.settings import Settings
from engine.model import Role

NAME = "staff"


def channels(settings: Settings, emails: bool, telegram_id: bool, notify_via: str) -> list[str]:
    found = []
    if emails and settings.email.smtp is not None and notify_via in ("auto", "email"):
        found.append("mail")
    if telegram_id and settings.telegram.token and notify_via in ("auto", "telegram"):
        found.append("Telegram")
    return found


async def check(settings: Settings) -> list[Finding]:
    staff = [(i, p) for i, p in enumerate(settings.people) if Role(p.role).is_staff]
    findings = []
    for i, person in staff:
        if person.notify_via == "none":
            continue
        if channels(settings, bool(person.emails), person.telegram_id is not None,
                    person.notify_via):
            continue
        findings.append(Finding(NAME, WARN, f"{person.name} (people[{i}]) cannot be reached: "
                                            f"{_missing(settings, person.emails, person.telegram_id)}"))
    if not staff:
        findings.append(Finding(NAME, WARN, "no staff in [[people]]: nobody can take tickets "
                                            "(declare at least one lead)"))
    elif not findings:
        findings.append(Finding(NAME, OK, f"all {len(staff)} staff can be reached"))
    return findings


def _missing(settings: Settings, emails: tuple[str, ...], telegram_id: int | None) -> str:
    mail = ("no [email.smtp] relay for their address" if emails
            else "no address (emails)")
    telegram = ("Telegram is off (no token)" if telegram_id is not None
                else "no telegram_id (`ticketbot telegram whoami` shows it)")
    return f"{mail}, and {telegram}"
