"""`[sla.metrics]` and `[sla.ratings]`: the digest schedule and the rating survey (F10, F13).

    [sla.metrics]
    digest = "weekly"        # off | daily | weekly | monthly
    digest_time = "09:00"    # service time zone
    digest_weekday = "mon"   # weekly digests
    chat_id = -1001234567    # default: telegram.staff_chat_id
    language = "ru"          # default: service.language
    history_months = 6

    [sla.ratings]
    enabled = true
    delay_minutes = 30       # a reopen within this cancels the survey
    cooldown_days = 3        # at most one survey per person in this many days
    scale = 5

Some defaults come from other sections; the loader hands them over as `Fallbacks`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from config.reader import ConfigError, Table
from engine.ratings import RatingSettings
from engine.sla.calendar import WEEKDAYS

SCHEDULES = ("off", "daily", "weekly", "monthly")
_METRICS = frozenset({"digest", "digest_time", "digest_weekday", "chat_id", "language",
                      "history_months"})
_RATINGS = frozenset({"enabled", "delay_minutes", "cooldown_days", "scale"})


@dataclass(frozen=True)
class Fallbacks:
    """What the rest of the file supplies when these sections leave a key out."""

    language: str = "en"                      # service.language
    chat_id: int | None = None                # telegram.staff_chat_id
    reply_address: str = "support@localhost"  # email.address: where mailed votes go


DEFAULT_FALLBACKS = Fallbacks()  # the embedded defaults of those sections


@dataclass(frozen=True)
class MetricsSettings:
    digest: str = "off"
    digest_time: dt.time = dt.time(9, 0)
    digest_weekday: int = 0
    chat_id: int | None = None
    language: str = "en"
    history_months: int = 6


def parse_metrics(sla: Table, fallbacks: Fallbacks) -> MetricsSettings:
    """`[sla.metrics]` of the `[sla]` table."""
    t = sla.table("metrics", _METRICS)
    history = t.whole("history_months", 6)
    if not 1 <= history <= 24:
        raise ConfigError(f"{t.path}.history_months: must be within 1..24, got {history}")
    return MetricsSettings(
        digest=t.choice("digest", "off", SCHEDULES), digest_time=_clock(t),
        digest_weekday=WEEKDAYS.index(t.choice("digest_weekday", "mon", WEEKDAYS)),
        chat_id=t.opt_whole("chat_id") if "chat_id" in t.data else fallbacks.chat_id,
        language=t.choice("language", fallbacks.language, ("en", "ru")),
        history_months=history)


def _clock(t: Table) -> dt.time:
    text = t.data.get("digest_time", "09:00")
    try:
        return dt.time.fromisoformat(str(text))
    except ValueError:
        raise ConfigError(f"{t.path}.digest_time: expected HH:MM, got {text!r}") from None


def parse_ratings(sla: Table, fallbacks: Fallbacks) -> RatingSettings:
    """`[sla.ratings]` of the `[sla]` table."""
    t = sla.table("ratings", _RATINGS)
    scale = t.whole("scale", 5)
    if not 2 <= scale <= 10:
        raise ConfigError(f"{t.path}.scale: must be within 2..10, got {scale}")
    return RatingSettings(enabled=t.flag("enabled", True),
                          delay_minutes=t.whole("delay_minutes", 30),
                          cooldown_days=t.whole("cooldown_days", 3), scale=scale,
                          reply_address=fallbacks.reply_address)
