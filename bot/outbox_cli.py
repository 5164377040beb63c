"""`ticketbot outbox ...`: deliveries given up (set aside), and sending one again.

    ticketbot outbox failed [--json]   every set-aside row: id, channel, recipient, kind,
                                       ticket, attempts, reason
    ticketbot outbox retry ID          the row is due again (an engine command, logged
                                       as a `delivery_retried` desk event)
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from bot.cli_output import complain, print_json, say
from config.settings import Settings


def register(sub: Any) -> None:
    box = sub.add_parser("outbox", help="deliveries given up: list, retry").add_subparsers(
        dest="outbox_command", required=True, metavar="ACTION")
    failed = box.add_parser("failed", help="list the deliveries set aside, newest first")
    failed.add_argument("--json", action="store_true", help="machine-readable output")
    failed.set_defaults(func=_failed)
    retry = box.add_parser("retry", help="send a set-aside delivery again")
    retry.add_argument("id", type=int)
    retry.set_defaults(func=_retry)


async def _failed(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import bootstrap
    from engine.store.set_aside import list_set_aside

    app = await bootstrap(settings, with_services=False)
    try:
        rows = await list_set_aside(app.db)
    finally:
        await app.close()
    if args.json:
        print_json([dataclasses.asdict(r) for r in rows])
        return 0
    if not rows:
        say("no delivery is set aside")
    for r in rows:
        ticket = f"#{r.ticket}" if r.ticket is not None else "-"
        say(f"{r.id}\t{r.failed_at:%Y-%m-%d %H:%M}\t{r.channel}\t{r.recipient}\t{r.kind}\t"
            f"{ticket}\t{r.attempts} attempt(s)\t{r.reason}")
    return 0


async def _retry(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import bootstrap
    from engine.commands import RetryDelivery
    from engine.errors import EngineError

    app = await bootstrap(settings, with_services=False)
    try:
        await app.bus.handle(RetryDelivery(actor=None, channel="cli", outbox_id=args.id))
    except EngineError:
        complain(f"no delivery set aside with id {args.id} (see `ticketbot outbox failed`)")
        return 1
    finally:
        await app.close()
    say(f"delivery {args.id} is queued again")
    return 0
