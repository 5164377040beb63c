"""Core subcommands: run, db upgrade, ticket list/show, export."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import directory_cli
from bot.cli_output import complain, print_json, say
from bot.runtime import App
from bot.ticket_view import render_hits, render_ticket, render_ticket_list
from config.settings import Settings
from engine.model import Ticket


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="run the service (mail, Telegram, scheduled jobs)")
    run.set_defaults(func=_run)
    db = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION")
    db.add_parser("upgrade", help="apply schema migrations").set_defaults(func=_db_upgrade)
    _ticket_parsers(sub)
    export = sub.add_parser("export", help="write everything stored as one JSON document")
    export.add_argument("--out", type=Path, help="file to write (default: stdout)")
    export.add_argument("--files", type=Path, metavar="DIR",
                        help="also write every file into DIR (the JSON names each one)")
    export.set_defaults(func=_export)


def _ticket_parsers(sub: Any) -> None:
    ticket = sub.add_parser("ticket", help="look at tickets").add_subparsers(
        dest="ticket_command", required=True, metavar="ACTION")
    listing = ticket.add_parser("list", help="list tickets")
    listing.add_argument("--status", help="only tickets in this status")
    listing.add_argument("--search", metavar="TEXT",
                         help="the tickets best matching these words (any word form), best "
                              "first, with a line of their text")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    directory_cli.ticket_filters(listing)  # F11: --company, --contract, --contact, ...
    listing.set_defaults(func=_ticket_list)
    show = ticket.add_parser("show", help="one ticket with its history")
    show.add_argument("number", type=int)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=_ticket_show)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from bot.cli import config_path
    from bot.serve import serve
    from config.settings import load_settings
    from engine.store.single_process import AlreadyRunning

    path = config_path(args)
    try:
        await serve(settings, config=path, reload=lambda: load_settings(path, os.environ))
    except AlreadyRunning as exc:
        complain(str(exc))
        return 1
    return 0


async def _app(settings: Settings) -> App:
    """The application as `ticketbot run` builds it (migrated, directory synced); the CLI
    starts none of its services."""
    from bot.bootstrap import bootstrap

    return await bootstrap(settings, with_services=False)


async def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from engine.store.migrate import upgrade

    await upgrade(settings.database_url)
    say("database is up to date")
    return 0


async def _ticket_list(args: argparse.Namespace, settings: Settings) -> int:
    from engine.model import Status
    from engine.store.queries import list_tickets

    statuses = {s.value for s in Status}
    if args.status and args.status not in statuses:
        complain(f"unknown status {args.status!r} (one of {', '.join(sorted(statuses))})")
        return 2
    app = await _app(settings)
    try:
        if args.search is not None:
            return await _search(app, args.search, args.status, args.json)
        rows = await list_tickets(app.db, status=args.status)
        wanted = await directory_cli.filtered_numbers(app, args)
    finally:
        await app.close()
    if isinstance(wanted, str):
        complain(wanted)
        return 2
    if wanted is not None:
        rows = [row for row in rows if row["number"] in wanted]
    if args.json:
        print_json(rows)
    else:
        say(render_ticket_list(rows, settings.language))
    return 0


async def _ticket_show(args: argparse.Namespace, settings: Settings) -> int:
    from engine.store.queries import person_names, ticket_detail

    app = await _app(settings)
    try:
        detail = await ticket_detail(app.db, args.number)
        names = await person_names(app.db)
        ticket = await app.views.ticket(args.number)
    finally:
        await app.close()
    if detail is None:
        complain(f"no ticket #{args.number}")
        return 1
    if args.json:
        print_json(detail)
    else:
        tz = ZoneInfo(settings.timezone)
        say(render_ticket(detail, names, settings.language, tz, _sla_view(ticket, settings)))
    return 0


def _sla_view(ticket: Ticket | None, settings: Settings) -> list[str]:
    """The SLA lines of a ticket (each target, time left or overdue) in business time."""
    from bot.i18n import t
    from engine.ports import SystemClock
    from engine.sla.status import sla_lines

    if ticket is None:
        return []
    policy = settings.sla.policies.get(ticket.sla_policy)
    return sla_lines(ticket, policy, SystemClock().now(), settings.language, t=t)


async def _queued_mail_headers(app: App, rows: list[dict[str, Any]]) -> None:
    """Mail still queued (no relay yet, or waiting for a retry) gets `headers_to_send`: the
    headers it will be sent with, Message-ID and threading included."""
    from bot.channels.email.deliver.sender import CHANNEL, MailSender
    from config.settings import SmtpConfig

    sender = MailSender(app, app.settings.email.smtp or SmtpConfig())
    for plain in rows:
        if plain["channel"] != CHANNEL or plain["sent_at"] or plain["failed_at"]:
            continue
        row = await app.outbox.get(plain["id"])
        plain["headers_to_send"] = None if row is None else await sender.preview(row)


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    from engine.store.queries import export_all

    app = await _app(settings)
    try:
        data = await export_all(app.db)
        await _queued_mail_headers(app, data["outbound"])
        if args.files is not None:
            from bot.files_cli import write_files

            missing = await write_files(app, data, args.files)
            if missing:
                complain(f"{missing} files could not be found; their `file` is null")
    finally:
        await app.close()
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        say(text)
    return 0


async def _search(app: App, text: str, status: str | None, as_json: bool) -> int:
    """F17 full-text search as the service itself (it sees every ticket); `--status` narrows
    the hits."""
    hits = [h for h in await app.views.search(text, None)
            if status is None or h.status.value == status]
    if as_json:
        print_json([{"number": h.number, "subject": h.subject, "status": h.status.value,
                     "snippet": h.snippet} for h in hits])
    else:
        say(render_hits(hits, app.settings.language))
    return 0
