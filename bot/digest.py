"""The scheduled metrics digest (F10): the month so far (or the month just ended) as text plus
a chart of the last months, posted to the staff chat through the outbox.

Once per period: the `report_runs` row (kind `digest_<schedule>`, period the local day,
ISO week or month) is claimed in the same transaction as the outbox row, so restarts,
overlapping runs and several workers post it once. `bot.bootstrap.jobs()` lists the job.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.chart import chart_caption, chart_png, chart_text
from bot.digest_ignored import ignored_line
from bot.i18n import t
from bot.jobs import Job
from bot.runtime import App
from bot.stats import build_report, render_report
from config.metrics import MetricsSettings
from engine import metrics as m
from engine.notify.kinds import NoticeKind
from engine.ports import Clock, OutboxItem
from engine.sla.calendar import WEEKDAYS
from engine.store.metrics_sql import claim_report_run, report_ran
from engine.store.uow import SqlOutbox

log = logging.getLogger("ticketbot.digest")

KIND = NoticeKind.DIGEST


@dataclass(frozen=True)
class Digest:
    schedule: str
    run_period: str  # the report_runs period: a day, an ISO week or a month
    period: m.Period  # the month reported


def run_period(schedule: str, now: dt.datetime, tz: ZoneInfo, period: m.Period) -> str:
    """The report_runs period: the local day, the ISO week, or the month reported."""
    local = now.astimezone(tz)
    if schedule == "daily":
        return local.date().isoformat()
    if schedule == "weekly":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return str(period)


def digest_for(schedule: str, now: dt.datetime, tz: ZoneInfo) -> Digest:
    """The month that holds yesterday: the month to date on most days, the whole month
    just ended when the digest runs on the 1st (which the monthly one always does)."""
    period = m.Period.containing(now - dt.timedelta(days=1), tz)
    return Digest(schedule, run_period(schedule, now, tz, period), period)


def digest_payload(report: m.Report, schedule: str, lang: str, scale: int,
                   ignored: str | None = None) -> dict[str, object]:
    """What the Telegram delivery posts: the chart as a photo with its caption, then the
    text; `chart_text` stands in for the picture where one cannot be sent. `ignored` is the
    line about mail the intake ignored (bot/digest_ignored.py), when there was any."""
    text = t(lang, f"stats.digest.{schedule}") + "\n\n" + render_report(report, lang, scale)
    return {"title": t(lang, f"stats.digest.{schedule}"), "period": str(report.period),
            "text": text if ignored is None else f"{text}\n\n{ignored}",
            "chart_png": base64.b64encode(chart_png(report.history)).decode("ascii"),
            "caption": chart_caption(report.history, lang),
            "chart_text": chart_text(report.history, lang)}


async def post_digest(rt: App, config: MetricsSettings, now: dt.datetime) -> bool:
    """Post this period's digest unless it was posted; True when this call posted it."""
    if config.chat_id is None:
        return False
    digest = digest_for(config.digest, now, ZoneInfo(rt.settings.timezone))
    kind = f"{KIND.value}_{config.digest}"
    if await report_ran(rt.db, kind, digest.run_period):
        return False
    report = await build_report(rt.views, rt.settings, digest.period, now, config.history_months)
    ignored = await ignored_line(rt.inbound, config.digest, now, ZoneInfo(rt.settings.timezone),
                                 digest.period, config.language)
    payload = digest_payload(report, config.digest, config.language,
                             rt.settings.sla.ratings.scale, ignored)
    item = OutboxItem(key=f"{kind}:{digest.run_period}", channel="telegram",
                      recipient=str(config.chat_id), kind=KIND, language=config.language,
                      payload=payload)
    return await _enqueue_once(rt, kind, digest.run_period, item, now)


async def _enqueue_once(rt: App, kind: str, period: str, item: OutboxItem,
                        now: dt.datetime) -> bool:
    async with rt.db.begin() as conn:
        if not await claim_report_run(conn, kind, period, now):
            return False
        await SqlOutbox(conn, _Fixed(now)).enqueue(item)
    log.info("digest %s for %s queued for chat %s", kind, period, item.recipient)
    return True


@dataclass(frozen=True)
class _Fixed:
    at: dt.datetime

    def now(self) -> dt.datetime:
        return self.at


def digest_trigger(config: MetricsSettings, timezone: str) -> CronTrigger:
    at = config.digest_time
    fields: dict[str, object] = {"hour": at.hour, "minute": at.minute}
    if config.digest == "weekly":
        fields["day_of_week"] = WEEKDAYS[config.digest_weekday]
    elif config.digest == "monthly":
        fields["day"] = 1
    return CronTrigger(timezone=ZoneInfo(timezone), **fields)


def digest_job(rt: App) -> Job | None:
    """None when the digest is off or there is no chat to post to."""
    config = rt.settings.sla.metrics
    if config.digest == "off" or config.chat_id is None:
        return None
    clock: Clock = rt.bus.clock

    async def run() -> None:
        await post_digest(rt, config, clock.now())

    return Job(digest_trigger(config, rt.settings.timezone), run)

