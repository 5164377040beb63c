"""Files on the CLI side: cutting a mailed file out of its raw mail, and names and sizes
as a person reads them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bot.i18n import t
from engine.files import MESSAGE_TOO_BIG, TOO_BIG, FileLimits


def part_bytes(raw: bytes, sha256: str) -> bytes | None:
    """The bytes of the part of `raw` whose sha256 is `sha256`: the store keeps a mailed
    file as a reference to the raw mail it came in, not as a second copy. The parser is
    the one the intake ran, so the part comes out byte for byte as it went in."""
    # Imported here: a CLI start-up that reads no file does not pay for the mail parser.
    from bot.channels.email.understand.parse import parse_mail

    for part in parse_mail(raw).attachments:
        if hashlib.sha256(part.data).hexdigest() == sha256:
            return part.data
    return None


def human_size(size: int) -> str:
    """1234567 -> '1.2 MB'; units of 1024, as file managers show them."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def refused_lines(lang: str, files: Sequence[tuple[str, int, str]], limits: FileLimits) -> str:
    """One line per refused file, in the reader's language: name, size, why."""
    limit = {TOO_BIG: human_size(limits.max_file_size),
             MESSAGE_TOO_BIG: human_size(limits.max_message_size)}
    return "\n".join(
        f"- {name} ({human_size(size)}): "
        f"{t(lang, f'files.refused.{reason}', limit=limit.get(reason, '?'))}"
        for name, size, reason in files)
