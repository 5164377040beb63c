"""`ticketbot mail ignored [--since WHEN] [--json]` and `ticketbot mail rescue ID`: what the
intake left alone and why, and turning one of those mails into a ticket. The same `rescue`
processes a quarantined mail again (`mail quarantined` lists those): one word for "take
this mail back", whichever way it was set aside.

The shell is the service's operator, so the rescue runs as the service itself (actor None),
which the engine allows like staff; a client never reaches this command."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from bot.cli_output import complain, say
from config.settings import Settings

if TYPE_CHECKING:
    from bot.channels.email.act.rescue import Rescuer
    from bot.runtime import App

_RELATIVE = re.compile(r"(\d{1,4})([dh])")


def register(mail: Any) -> None:
    ignored = mail.add_parser("ignored", help="list mail the intake ignored, with the reason")
    ignored.add_argument("--since", default="7d",
                         help="a date (2026-11-20), a time (2026-11-20T09:00) or an age "
                              "(12h, 7d); default 7d")
    ignored.add_argument("--json", action="store_true", help="one JSON document")
    ignored.set_defaults(func=_ignored)
    rescue = mail.add_parser("rescue", help="turn an ignored mail into a ticket (no ack), or "
                                            "process a quarantined mail again")
    rescue.add_argument("id", type=int,
                        help="the number `mail ignored` or `mail quarantined` shows")
    rescue.set_defaults(func=_rescue)


def parse_since(value: str, now: dt.datetime) -> dt.datetime | None:
    match = _RELATIVE.fullmatch(value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - (dt.timedelta(days=amount) if unit == "d" else dt.timedelta(hours=amount))
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


async def _ignored(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import bootstrap
    from bot.channels.email.act.ignored import describe
    from bot.channels.email.receive import raw

    rt = await bootstrap(settings, with_services=False)
    try:
        since = parse_since(args.since, rt.bus.clock.now())
        if since is None:
            complain(f"--since: expected a date, a time or an age like 7d, got {args.since!r}")
            return 2
        rows = [describe(row) for row in await rt.inbound.ignored(raw.CHANNEL, since)]
    finally:
        await rt.close()
    if args.json:
        say(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        say(f"{r.id:>6}  {r.received_at}  {r.kind:<15} {r.sender}  {r.subject[:60]!r}  "
            f"{r.reason[:160]}")
    say(f"{len(rows)} mail(s) ignored since {since.isoformat(timespec='minutes')}; "
        "`ticketbot mail rescue ID` makes one a ticket")
    return 0


async def _rescue(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import bootstrap
    from bot.channels.email.act.rescue import Rescuer
    from bot.i18n import explain
    from engine.errors import EngineError

    rt = await bootstrap(settings, with_services=False)
    try:
        rescuer = Rescuer(rt.settings, rt.bus, rt.views, rt.inbound)
        row = await rt.inbound.get(args.id)
        if row is not None and row.status == "quarantined":
            return await _reprocess(rt, rescuer, args.id)
        number = await rescuer.rescue(args.id, actor=None, channel="cli",
                                      at=rt.bus.clock.now())
    except EngineError as exc:
        complain(explain("en", exc))
        return 1
    finally:
        await rt.close()
    say(f"mail {args.id} is now ticket #{number} (no acknowledgement was sent; answer with "
        "/reply)")
    return 0


async def _reprocess(rt: App, rescuer: Rescuer, id: int) -> int:
    """A quarantined mail (processing gave up on it, e.g. a bug since fixed) is processed
    again like a new one, acknowledgement included: it was never judged machine mail. The
    engine decides who may and records it (`MailRequeued`)."""
    from bot.channels.email.act.intake import MailIntake

    await rescuer.requeue(id, actor=None, channel="cli", at=rt.bus.clock.now())
    processed = await MailIntake(rt).drain()
    row = await rt.inbound.get(id)
    status = "?" if row is None else row.status
    say(f"mail {id}: {status} (processed {processed} mail(s))")
    return 0 if status != "pending" else 1
