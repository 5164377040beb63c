"""F10 for people: the monthly report as text in English or Russian (for `/stats`, the CLI
and the digest), and as JSON for the CLI. Its settings (`[sla.metrics]`, `[sla.ratings]`) are
read when the config loads (`config/metrics.py`) and held as `Settings.sla.metrics` and
`Settings.sla.ratings`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import t
from config.settings import Settings
from engine import metrics as m
from engine.access import Action, allowed
from engine.bus import Reactor
from engine.commands import Command, RateTicket
from engine.errors import InvalidValue, NotAllowed
from engine.handlers import Handler
from engine.model import Person
from engine.store.ratings_sql import sql_rate_handler, sql_rating_reactors
from engine.views import Views


def rating_reactors(settings: Settings, secret: bytes) -> list[Reactor]:
    """F13's reactor for the bus (after `notify`), bound to the SQL survey log and signing
    vote tokens with `Runtime.secret`; none when ratings are switched off."""
    return sql_rating_reactors(settings.sla.ratings, secret)


def rating_handlers(settings: Settings) -> dict[type[Command], Handler]:
    """`RateTicket`, checked against the configured scale; votes go to the SQL survey log."""
    return {RateTicket: sql_rate_handler(settings.sla.ratings)}


# --- formatting ----------------------------------------------------------------------------


def duration(lang: str, seconds: float | None) -> str:
    """45 s, 12 min, 3 h 5 min, 2 d 4 h: two units at most, rounded down."""
    if seconds is None:
        return "—"
    s = int(seconds)
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days:
        parts = [("d", days), ("h", hours)]
    elif hours:
        parts = [("h", hours), ("min", minutes)]
    else:
        parts = [("min", minutes)] if minutes else [("s", s)]
    shown = [t(lang, f"stats.unit.{unit}", n=n) for unit, n in parts if n or unit == parts[0][0]]
    return " ".join(shown)


def share(lang: str, value: m.Share) -> str:
    if value.percent is None:
        return t(lang, "stats.none")
    return t(lang, "stats.share", percent=f"{value.percent:.0f}", met=value.met,
             total=value.total)


def _summary(lang: str, key: str, d: m.Durations) -> str:
    return t(lang, key, mean=duration(lang, d.mean), median=duration(lang, d.median),
             p90=duration(lang, d.p90))


def _rating(lang: str, rating: m.RatingStats, scale: int) -> str:
    if rating.mean is None:
        return t(lang, "stats.rating_none")
    return t(lang, "stats.rating", mean=f"{rating.mean:.1f}", scale=scale, count=rating.count)


def first_line_text(lang: str, line: m.FirstLine) -> list[str]:
    return [t(lang, "stats.first_line", dialogs=line.dialogs, answered=line.answered),
            _summary(lang, "stats.response", line.response.calendar),
            _summary(lang, "stats.business", line.response.business)]


def second_line_text(lang: str, line: m.SecondLine, scale: int) -> list[str]:
    return [
        t(lang, "stats.second_line", opened=line.opened, closed=line.closed,
          open=line.open_at_end),
        _summary(lang, "stats.resolution", line.resolution.calendar),
        _summary(lang, "stats.business", line.resolution.business),
        t(lang, "stats.waiting", client=duration(lang, line.on_client.calendar.mean),
          client_b=duration(lang, line.on_client.business.mean),
          specialist=duration(lang, line.on_specialist.calendar.mean),
          specialist_b=duration(lang, line.on_specialist.business.mean)),
        t(lang, "stats.sla", fr=share(lang, line.first_response_sla),
          res=share(lang, line.resolution_sla)),
        _rating(lang, line.rating, scale)]


def _percent(value: m.Share) -> str:
    return "—" if value.percent is None else f"{value.percent:.0f}%"


def specialist_text(lang: str, person: m.SpecialistFigures) -> str:
    first, second = person.figures.first_line, person.figures.second_line
    rating = "—" if second.rating.mean is None else f"{second.rating.mean:.1f}"
    return t(lang, "stats.specialist", name=person.name, dialogs=first.answered,
             response=duration(lang, first.response.calendar.median), closed=second.closed,
             resolution=duration(lang, second.resolution.calendar.median),
             open=second.open_at_end, fr=_percent(second.first_response_sla),
             res=_percent(second.resolution_sla), rating=rating)


def history_text(lang: str, month: m.MonthFigures) -> str:
    first, second = month.figures.first_line, month.figures.second_line
    return t(lang, "stats.history_row", period=str(month.period), dialogs=first.dialogs,
             response=duration(lang, first.response.calendar.median), opened=second.opened,
             closed=second.closed, fr=_percent(second.first_response_sla),
             res=_percent(second.resolution_sla))


def render_report(report: m.Report, lang: str, scale: int = 5) -> str:
    """The whole report as plain text (the channel escapes it for its markup)."""
    lines = [t(lang, "stats.title", period=str(report.period), tz=report.timezone), ""]
    lines += first_line_text(lang, report.total.first_line) + [""]
    lines += second_line_text(lang, report.total.second_line, scale)
    if report.specialists:
        lines += ["", t(lang, "stats.by_specialist")]
        lines += ["• " + specialist_text(lang, p) for p in report.specialists]
    if len(report.history) > 1:
        lines += ["", t(lang, "stats.history")]
        lines += ["• " + history_text(lang, h) for h in reversed(report.history[:-1])]
    return "\n".join(lines)


# --- JSON ----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, m.Period):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def report_json(report: m.Report) -> dict[str, Any]:
    """Every figure, durations in seconds, periods as "YYYY-MM", times as ISO 8601."""
    data: dict[str, Any] = _plain(report)
    return data


# --- answering /stats ----------------------------------------------------------------------


def parse_period(text: str | None, now: dt.datetime, tz: ZoneInfo) -> m.Period:
    """`YYYY-MM`, or the current month when none is given."""
    if text is None:
        return m.Period.containing(now, tz)
    try:
        return m.Period.parse(text)
    except ValueError:
        raise InvalidValue(field="period", value=text, reason="YYYY-MM") from None


async def build_report(views: Views, settings: Settings, period: m.Period,
                       now: dt.datetime, history: int | None = None) -> m.Report:
    months = history or settings.sla.metrics.history_months
    return await views.monthly_report(period, timezone=settings.timezone,
                                      calendar=settings.sla.business_calendar, now=now,
                                      history=months)


async def stats_text(views: Views, settings: Settings, person: Person | None,
                     period: str | None, now: dt.datetime, lang: str) -> str:
    """The `/stats [YYYY-MM]` answer. Only specialists and the lead see metrics (seed 002):
    anyone else gets NotAllowed, which `bot.i18n.explain` words for them."""
    if person is None or not allowed(person, Action.METRICS):
        raise NotAllowed(action=Action.METRICS.value,
                         role="unknown" if person is None else person.role.value)
    report = await build_report(views, settings, parse_period(period, now,
                                                           ZoneInfo(settings.timezone)), now)
    return render_report(report, lang, settings.sla.ratings.scale)
