"""The staff digest's line about mail the intake ignored: how many, of which kinds, and how
to see and rescue them, so nothing is dropped without staff hearing of it.

The window is the digest's own: the day (24 hours) or week before it runs, or the month it
reports. No line when nothing was ignored."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.channels.email.act.ignored import counts
from bot.channels.email.receive import raw
from bot.i18n import t
from engine import metrics as m
from engine.inbox import Inbox


def window(schedule: str, now: dt.datetime, tz: ZoneInfo,
           period: m.Period) -> tuple[dt.datetime, dt.datetime]:
    if schedule == "daily":
        return now - dt.timedelta(days=1), now
    if schedule == "weekly":
        return now - dt.timedelta(days=7), now
    return period.start(tz), period.shift(1).start(tz)


async def ignored_line(inbound: Inbox, schedule: str, now: dt.datetime, tz: ZoneInfo,
                       period: m.Period, lang: str) -> str | None:
    since, until = window(schedule, now, tz, period)
    found = counts(await inbound.ignored(raw.CHANNEL, since, until))
    if not found:
        return None
    kinds = ", ".join(t(lang, f"ignored.{kind}", n=n) for kind, n in found.items())
    return (t(lang, f"digest.ignored.{schedule}", count=sum(found.values()), kinds=kinds)
            + "\n" + t(lang, "digest.ignored.hint"))
