"""`ticketbot stats [--period YYYY-MM] [--json] [--lang en|ru]`: the monthly report from the
command line, as text or as JSON with every figure (durations in seconds)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli_output import complain, print_json, say
from bot.stats import build_report, parse_period, render_report, report_json
from config.settings import Settings
from engine.errors import InvalidValue
from engine.metrics import Period, Report
from engine.ports import SystemClock


def register(sub: Any) -> None:
    stats = sub.add_parser("stats", help="response and resolution figures for a month")
    stats.add_argument("--period", metavar="YYYY-MM",
                       help="the month to report (default: the current one)")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--lang", choices=("en", "ru"), default=None,
                       help="language of the text (default: service.language)")
    stats.set_defaults(func=run_stats)


async def run_stats(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    try:
        period = parse_period(args.period, now, ZoneInfo(settings.timezone))
    except InvalidValue:
        complain(f"bad --period {args.period!r}: expected YYYY-MM")
        return 2
    report = await _report(settings, period, now)
    if args.json:
        print_json(report_json(report))
    else:
        lang = args.lang or settings.language
        say(render_report(report, lang, settings.sla.ratings.scale))
    return 0


async def _report(settings: Settings, period: Period, now: dt.datetime) -> Report:
    from bot.bootstrap import bootstrap

    app = await bootstrap(settings, with_services=False)
    try:
        return await build_report(app.views, settings, period, now)
    finally:
        await app.close()
