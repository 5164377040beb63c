"""F11 from the shell, without a restart: the directories as CSV files, and one entry at
a time.

    ticketbot directory import KIND FILE.csv   add or update by natural key; prints what
                                               was added, updated, unchanged, and each
                                               refused row's line and reason
    ticketbot directory export KIND FILE.csv   the same columns (`-`: stdout)
    ticketbot company|contact|contract|object|equipment add --COLUMN VALUE ...
    ticketbot company|contact|contract|object|equipment show X
    ticketbot company|contact|contract|object|equipment list

Every write is an `ImportDirectory` engine command (the shell acts as the service itself),
recorded as a `directory_imported` desk event. A CSV file's first line names its columns
(`ticketbot directory export` writes one to start from); `,` or `;` separates them.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.cli_output import complain, say
from bot.i18n import t
from config.settings import Settings
from engine.directory_import import COLUMNS, missing_columns, unknown_columns
from engine.directory_store import KINDS, filter_by

# The shell's word for each directory (`ticketbot company add`).
SINGULAR = {"company": "companies", "contact": "contacts", "contract": "contracts",
            "object": "objects", "equipment": "equipment"}
CHANNEL = "cli"


def register(sub: Any) -> None:
    files = sub.add_parser("directory", help="directories as CSV files: import, export"
                           ).add_subparsers(dest="directory_command", required=True,
                                            metavar="ACTION")
    load = files.add_parser("import", help="add or update entries from a CSV file")
    load.add_argument("kind", choices=KINDS)
    load.add_argument("file", type=Path)
    load.set_defaults(func=_import)
    dump = files.add_parser("export", help="write a directory as a CSV file")
    dump.add_argument("kind", choices=KINDS)
    dump.add_argument("file", help="file to write, - for stdout")
    dump.set_defaults(func=_export)
    for word, kind in SINGULAR.items():
        _entry_parsers(sub, word, kind)


def _entry_parsers(sub: Any, word: str, kind: str) -> None:
    actions = sub.add_parser(word, help=f"the {kind} directory: add, show, list"
                             ).add_subparsers(dest=f"{word}_command", required=True,
                                              metavar="ACTION")
    add = actions.add_parser("add", help=f"add or update one entry of {kind}")
    for column in COLUMNS[kind]:
        add.add_argument(f"--{column.replace('_', '-')}", dest=column)
    add.set_defaults(func=_add, kind=kind)
    show = actions.add_parser("show", help="entries matching a name, id, address or phone")
    show.add_argument("what", nargs="+")
    show.set_defaults(func=_show, kind=kind)
    actions.add_parser("list", help=f"every entry of {kind}").set_defaults(func=_list,
                                                                          kind=kind)


# --- reading a CSV file ---------------------------------------------------------------------


def read_csv(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header (lower case) and each non-empty row with the line it starts on (the
    header is line 1; a quoted field may span lines)."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        start = reader.line_num + 1
        for values in reader:
            if any(v.strip() for v in values):
                yield start, dict(zip(header, values, strict=False))
            start = reader.line_num + 1

    return header, rows()


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        complain(f"{args.file}: cannot read it: {exc}")
        return 2
    header, rows = read_csv(text)
    wrong = unknown_columns(args.kind, header)
    missing = missing_columns(args.kind, header)
    if wrong or missing:
        complain(f"{args.file}: " + (f"unknown column {wrong[0]!r}" if wrong
                                     else f"no column {missing[0]!r}")
                 + f" (the columns of {args.kind}: {', '.join(COLUMNS[args.kind])})")
        return 2
    refused = await run_import(settings, args.kind, list(rows), str(args.file))
    return 1 if refused else 0


async def run_import(settings: Settings, kind: str, rows: Sequence[tuple[int, dict[str, str]]],
                     name: str) -> int:
    """Runs the engine command, prints its report; how many rows were refused."""
    from bot.cli_core import _app
    from engine.commands import DirectoryRow, ImportDirectory
    from engine.events import DirectoryImported

    app = await _app(settings)
    try:
        outcome = await app.bus.handle(ImportDirectory(
            actor=None, channel=CHANNEL, kind=kind,
            rows=tuple(DirectoryRow(line, tuple(values.items())) for line, values in rows),
            policies=tuple(p.name for p in settings.sla.policies.policies)))
    finally:
        await app.close()
    report = next(e for e in outcome.desk_events if isinstance(e, DirectoryImported))
    lang = settings.language
    say(f"{name}: " + t(lang, "dir.report", kind=kind, added=report.added,
                        updated=report.updated, unchanged=report.unchanged,
                        refused=len(report.refused)))
    for line, reason, value in report.refused:
        say(t(lang, "dir.refused_line", line=line, reason=t(lang, reason, value=value)))
    return len(report.refused)


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    rows = await _rows(settings, args.kind)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS[args.kind]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if args.file == "-":
        sys.stdout.write(out.getvalue())
    else:
        Path(args.file).write_text(out.getvalue(), encoding="utf-8")
        say(f"{args.file}: {len(rows)} {args.kind}")
    return 0


async def _rows(settings: Settings, kind: str) -> list[dict[str, str]]:
    from bot.cli_core import _app

    app = await _app(settings)
    try:
        async with app.views.reading() as r:
            return await r.directory.rows(kind)
    finally:
        await app.close()


# --- one entry ------------------------------------------------------------------------------


async def _add(args: argparse.Namespace, settings: Settings) -> int:
    """Options not given keep what the entry has (when it exists already)."""
    kind = args.kind
    given = {c: getattr(args, c) for c in COLUMNS[kind] if getattr(args, c) is not None}
    keys = ("emails", "telegram_id") if kind == "contacts" else (COLUMNS[kind][0],)
    if not any(given.get(k) for k in keys):
        complain(" or ".join(f"--{k.replace('_', '-')}" for k in keys) + " is needed")
        return 2
    row = {**await _current(settings, kind, given), **given}
    return 1 if await run_import(settings, kind, [(1, row)], f"{kind} add") else 0


async def _current(settings: Settings, kind: str, given: dict[str, str]) -> dict[str, str]:
    """The entry as an export row, when `given` names one that exists."""
    key = COLUMNS[kind][0]
    for row in await _rows(settings, kind):
        if kind == "contacts":
            known = set(row["emails"].split()) | {row["telegram_id"]} - {""}
            wanted = set(given.get("emails", "").lower().split()) | \
                {given.get("telegram_id", "")} - {""}
            if known & wanted:
                return row
        elif row[key].casefold() == given[key].strip().casefold() and (
                kind != "objects" or row["company"] == given.get("company", row["company"])):
            return row
    return {}


async def _show(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli_core import _app
    from bot.directory_text import render_card

    app = await _app(settings)
    try:
        async with app.views.reading() as r:
            ids = await r.directory.search(args.kind, " ".join(args.what), 20)
            cards = await r.directory.cards(args.kind, ids)
    finally:
        await app.close()
    if not cards:
        complain(t(settings.language, "dir.not_found", value=" ".join(args.what)))
        return 1
    say("\n\n".join(render_card(card, settings.language) for card in cards))
    return 0


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    rows = await _rows(settings, args.kind)
    for row in rows:
        say(" · ".join(v for v in row.values() if v))
    return 0


# --- `ticketbot ticket list --company X ...` --------------------------------------------------

FILTERS = {"company": "companies", "contact": "contacts", "contract": "contracts",
           "object": "objects", "equipment": "equipment", "responsible": "responsible"}


def ticket_filters(parser: argparse.ArgumentParser) -> None:
    for option, kind in FILTERS.items():
        parser.add_argument(f"--{option}", metavar="X",
                            help=f"only tickets of this {option} (name, id, address"
                                 + (")" if kind != "responsible" else " of a staff member)"))


async def filtered_numbers(app: Any, args: argparse.Namespace) -> set[int] | str | None:
    """The tickets every given filter allows (None: no filter given), or why a filter
    names nothing (or several)."""
    from bot.directory_text import responsible_ids

    allowed: set[int] | None = None
    async with app.views.reading() as r:
        for option, kind in FILTERS.items():
            text = getattr(args, option, None)
            if text is None:
                continue
            found = await (responsible_ids(r, text) if kind == "responsible"
                           else r.directory.resolve(kind, text))
            if len(found) != 1:
                return (f"--{option} {text!r}: " +
                        ("nothing matches" if not found else "several match; give the id"))
            numbers = set(await r.directory.ticket_numbers(filter_by(kind, found[0])))
            allowed = numbers if allowed is None else allowed & numbers
    return allowed
