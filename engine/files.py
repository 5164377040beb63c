"""Files as the engine keeps them, whichever channel brought them: a clean name for every
place a name is used (a terminal, a mail header, a file system), the type read from the
bytes themselves, and the size limits that refuse a file without losing the message.

The sniffer is our own and small on purpose: a handful of magic numbers covers what a
service desk receives, and the declared type of a sender we do not know decides nothing
(an `.exe` declared `application/pdf` shows as an executable)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from engine import events as e
from engine.model import Attachment

if TYPE_CHECKING:
    from engine.context import Context

MB = 1024 * 1024


@dataclass(frozen=True)
class FileLimits:
    """`[files]` in the config. A file over `max_file_size`, or one that would take the
    files of one message over `max_message_size`, is refused: recorded by name, size and
    reason, its bytes not kept; the message itself is kept."""

    max_file_size: int = 25 * MB
    max_message_size: int = 50 * MB


# Reasons a file was refused (stored on its row; texts in bot/i18n.py `files.refused.*`).
TOO_BIG = "file_too_big"
MESSAGE_TOO_BIG = "message_too_big"

OCTET = "application/octet-stream"


def admit(files: tuple[Attachment, ...], limits: FileLimits) -> tuple[Attachment, ...]:
    """The files of one message as they are stored: names cleaned, types detected, sha256
    computed, and those over a limit marked refused (their bytes dropped)."""
    total, out = 0, []
    for index, f in enumerate(files, 1):
        detected = sniff(f.data, f.content_type) if f.has_bytes else f.content_type
        digest = f.sha256 or (hashlib.sha256(f.data).hexdigest() if f.has_bytes else "")
        ready = replace(f, filename=clean_filename(f.filename, index, detected),
                        content_type=detected, sha256=digest,
                        declared_type=f.declared_type or f.content_type)
        reason = ready.refused
        if reason is None and ready.size > limits.max_file_size:
            reason = TOO_BIG
        elif reason is None and total + ready.size > limits.max_message_size:
            reason = MESSAGE_TOO_BIG
        if reason is None:
            total += ready.size
            out.append(ready)
        else:
            out.append(replace(ready, data=b"", size=ready.size, refused=reason,
                               found_in=None))
    return tuple(out)


def refused_files(ctx: Context, ticket: int, comment_id: int,
                  files: tuple[Attachment, ...]) -> None:
    """One event for the files of a message that a limit refused (none: no event); the
    channel that brought them tells the sender and notes it for staff."""
    refused = tuple((f.filename, f.size, f.refused) for f in files if f.refused)
    if refused:
        ctx.raise_event(e.FilesRefused(ticket=ticket, actor=ctx.actor_id, at=ctx.at,
                                       channel=ctx.command.channel, comment_id=comment_id,
                                       files=refused))


# ---------------------------------------------------------------- names

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Characters Windows refuses in a name, and the bidirectional overrides that make
# "invoice\u202egpj.exe" read as "invoiceexe.jpg".
_UNSAFE = re.compile(r"[<>:\"|?*\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SEPARATORS = re.compile(r"[\\/]")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
# 255 bytes is the usual file-system limit; room is left for an export's " (2)".
MAX_NAME_BYTES = 200
_EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg",
               "image/gif": ".gif", "application/zip": ".zip", "text/plain": ".txt",
               "message/rfc822": ".eml", "text/html": ".html"}


def clean_name(name: str) -> str:
    """A name safe in a terminal, a header and a path, or "" if nothing is left: the last
    path component, without NUL, control or direction-changing characters, not `..`, not
    a reserved device name, at most MAX_NAME_BYTES of UTF-8 with its extension kept.
    Letters of any script stay (a Russian name stays Russian). Idempotent."""
    base = unicodedata.normalize("NFC", _SEPARATORS.split(name or "")[-1])
    base = _UNSAFE.sub("_", _CONTROL.sub("", base))
    base = " ".join(base.split()).strip(" .")
    if _RESERVED.match(base):
        base = f"_{base}"
    return _shortened(base)


def clean_filename(name: str, index: int = 1, content_type: str = OCTET) -> str:
    """`clean_name`, or `file-<index>.<ext>` when nothing of the name is left."""
    return clean_name(name) or f"file-{index}{_EXTENSIONS.get(content_type, '.bin')}"


def _shortened(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(" .")
    return f"{cut}{suffix}"


# ---------------------------------------------------------------- types

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
    (b"BEGIN:VCALENDAR", "text/calendar"),
    (b"OggS", "audio/ogg"),  # Telegram's voice notes
    (b"ID3", "audio/mpeg"),
    (b"\x1aE\xdf\xa3", "video/webm"),
)
# Office documents are ZIP files; the first entry names tell which kind.
_ZIP_KINDS = (
    (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    (b"mimetypeapplication/vnd.oasis.opendocument.text",
     "application/vnd.oasis.opendocument.text"),
    (b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
     "application/vnd.oasis.opendocument.spreadsheet"),
)
# Old Office files share one container format; the declared type tells them apart.
_OLE_TYPES = frozenset({"application/msword", "application/vnd.ms-excel",
                        "application/vnd.ms-powerpoint", "application/vnd.ms-outlook"})
_SNIFF = 64 * 1024
_TEXT_CONTROLS = set(range(32)) - {9, 10, 12, 13, 27}
_RECOGNISED = frozenset(t for _, t in _MAGIC) | frozenset(t for _, t in _ZIP_KINDS) | {
    "application/zip"}


def sniff(data: bytes, declared: str = OCTET) -> str:
    """The type of `data` read from its bytes. A recognised signature decides; text is
    text (a declared text/* subtype such as text/csv is kept); otherwise the declared type,
    unless it claims a kind whose signature the bytes do not carry."""
    declared = (declared or OCTET).lower()
    head = data[:_SNIFF]
    found = _by_magic(head)
    if found == "application/x-ole-storage" and declared in _OLE_TYPES:
        return declared
    if found in ("audio/ogg", "video/webm") and declared in ("video/ogg", "audio/webm",
                                                            "video/x-matroska"):
        return declared  # one container for sound or picture: the declaration tells which
    if found is not None:
        return found
    if declared.startswith("message/") or declared == "text/rfc822-headers":
        return declared  # a mail or its headers, text by nature; its kind is the declaration
    if data and _is_text(head):
        if _looks_html(head):
            return "text/html"
        return declared if declared.startswith("text/") else "text/plain"
    if not data or declared in _RECOGNISED or declared.startswith("text/"):
        return OCTET
    return declared


def _by_magic(head: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"PK\x03\x04"):
        return next((kind for marker, kind in _ZIP_KINDS if marker in head), "application/zip")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    return None


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    controls = sum(1 for b in head[:4096] if b in _TEXT_CONTROLS)
    return controls * 100 <= len(head[:4096])


def _looks_html(head: bytes) -> bool:
    start = head[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))
