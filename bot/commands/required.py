"""What the fields commands show staff: the fields a ticket's type still needs (asked for
when a specialist takes it), and the staff-only lines of `/status` (type, tags, planned
resolution date, time spent). Clients never get these lines (seed 000)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.i18n import t
from engine.model import Ticket
from engine.settings import EngineSettings
from engine.ticket_types import missing, type_named


def ask_missing(ticket: Ticket, settings: EngineSettings, lang: str) -> str | None:
    """The question the bot asks the taker, naming each missing field and the command that
    sets it; None when the type needs nothing more."""
    lacking = missing(ticket, type_named(settings.type_specs, ticket.type))
    if not lacking:
        return None
    number = f"{settings.ticket_prefix}{ticket.number}"
    lines = [t(lang, "fields.ask", number=number, type=ticket.type)]
    lines += [t(lang, "fields.ask_line", field=t(lang, f"fields.name.{f}"),
                command=t(lang, f"fields.how.{f}", number=ticket.number)) for f in lacking]
    return "\n".join(lines)


def spent_text(minutes: int, lang: str) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return t(lang, "fields.hours_minutes", hours=hours, minutes=rest)
    return t(lang, "fields.hours", hours=hours) if hours else t(lang, "fields.minutes",
                                                               minutes=rest)


def _when(moment: dt.datetime, tz: str, lang: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return local.strftime("%d.%m.%Y %H:%M" if lang == "ru" else "%Y-%m-%d %H:%M")


def staff_lines(ticket: Ticket, lang: str, tz: str) -> list[str]:
    """The fields only staff read, for `/status` in the staff chat and by mail."""
    first = t(lang, "fields.line.type", type=ticket.type)
    if ticket.internal:
        first += " · " + t(lang, "fields.line.internal")
    if ticket.tags:
        first += " · " + t(lang, "fields.line.tags", tags=", ".join(sorted(ticket.tags)))
    lines = [first]
    if ticket.planned_resolution is not None:
        lines.append(t(lang, "fields.line.due", due=_when(ticket.planned_resolution, tz, lang)))
    if ticket.time_spent_minutes:
        lines.append(t(lang, "fields.line.spent",
                       spent=spent_text(ticket.time_spent_minutes, lang)))
    return lines
