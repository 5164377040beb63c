"""`ticketbot attachment get N NAME|ID [--out PATH]`, and the files of `export --files DIR`.

Bytes are read by file id, one file at a time (a ticket is read without them). Nothing
binary is written to a terminal: without `--out`, stdout must be a pipe or a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli_output import complain, say
from bot.runtime import App
from config.settings import Settings
from engine.files import clean_filename


def register(sub: Any) -> None:
    files = sub.add_parser("attachment", help="a ticket's files").add_subparsers(
        dest="attachment_command", required=True, metavar="ACTION")
    get = files.add_parser("get", help="write a file's exact bytes (to --out, or to a pipe)")
    get.add_argument("number", type=int, help="the ticket")
    get.add_argument("file", help="the file's name or id (as `ticket show` lists them)")
    get.add_argument("--out", type=Path,
                     help="file or folder to write to (default: stdout, not a terminal)")
    get.add_argument("--force", action="store_true", help="overwrite an existing file")
    get.set_defaults(func=_get)


async def _app(settings: Settings) -> App:
    from bot.bootstrap import bootstrap

    return await bootstrap(settings)


def _pick(rows: list[dict[str, Any]], wanted: str) -> dict[str, Any] | str:
    """The file named by id or name, or why none is."""
    by_id = [r for r in rows if wanted.isdigit() and r["id"] == int(wanted)]
    by_name = [r for r in rows if r["filename"] == wanted]
    found = by_id or by_name
    if not found:
        names = ", ".join(f"{r['id']} {r['filename']}" for r in rows) or "none"
        return f"no file {wanted!r} on this ticket (files: {names})"
    if len(found) > 1:
        ids = ", ".join(str(r["id"]) for r in found)
        return f"{len(found)} files are named {wanted!r}: give the id ({ids})"
    return found[0]


async def _get(args: argparse.Namespace, settings: Settings) -> int:
    from engine.store.files_sql import ticket_files

    if args.out is None and sys.stdout.isatty():
        complain("stdout is a terminal: give --out PATH, or pipe the output")
        return 2
    app = await _app(settings)
    try:
        rows = await ticket_files(app.db, args.number)
        if not rows and await app.views.ticket(args.number) is None:
            complain(f"no ticket #{args.number}")
            return 1
        found = _pick(rows, args.file)
        if isinstance(found, str):
            complain(found)
            return 1
        if found["refused"]:
            complain(f"{found['filename']} was refused ({found['refused']}): "
                     "its bytes were not kept")
            return 1
        data = await app.views.attachment_bytes(found["id"])
    finally:
        await app.close()
    if data is None:
        complain(f"the bytes of {found['filename']} cannot be found")
        return 1
    return _write(data, found["filename"], args.out, args.force)


def _write(data: bytes, name: str, out: Path | None, force: bool) -> int:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    target = out / clean_filename(name) if out.is_dir() else out
    if target.exists() and not force:
        complain(f"{target} exists (--force overwrites it)")
        return 1
    target.write_bytes(data)
    say(f"{target}: {len(data)} bytes")
    return 0


async def write_files(app: App, data: dict[str, Any], folder: Path) -> int:
    """`export --files DIR`: every kept file as DIR/<ticket>/<clean name>, unique within
    its ticket's folder; each attachment in the JSON names its file (relative to DIR).
    The number of files that could not be written (their `file` is null)."""
    missing = 0
    for ticket in data["tickets"]:
        taken: set[str] = set()
        for comment in ticket["comments"]:
            for f in comment["attachments"]:
                f["file"] = None
                if f["refused"]:
                    continue
                content = await app.views.attachment_bytes(f["id"])
                if content is None:
                    missing += 1
                    continue
                rel = f"{ticket['number']}/{_unique(clean_filename(f['filename']), taken)}"
                path = folder / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                f["file"] = rel
    data["files_dir"] = str(folder)
    return missing


def _unique(name: str, taken: set[str]) -> str:
    """`a.pdf`, then `a (2).pdf`, `a (3).pdf`: names compared as a case-insensitive file
    system would."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
    taken.add(candidate.lower())
    return candidate
