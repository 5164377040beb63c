"""Files posted in Telegram (photos, documents, voice notes, videos) become attachments of
the comment or ticket their message makes; the caption is its text.

The bytes are fetched with getFile. The Bot API lets a bot download 20 MB at most: a bigger
file (or one Telegram will not hand over) is not dropped but recorded in the text, with its
name, size and Telegram file id and a note saying why it is not attached.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from telegram.error import TelegramError

from bot.channels.telegram.context import Desk
from bot.channels.telegram.receive.inbound import ChatFile
from bot.file_size import size_text
from bot.i18n import t
from engine import commands as c
from engine.model import Attachment

log = logging.getLogger("ticketbot.telegram")

DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the Bot API's getFile limit


@dataclass(frozen=True)
class Fetched:
    attachments: tuple[Attachment, ...] = ()
    notes: tuple[str, ...] = ()  # a line for each file not fetched

    def body(self, text: str) -> str:
        """`text` with the notes of files not fetched under it."""
        return "\n".join(x for x in (text, *self.notes) if x)


async def fetch(desk: Desk, files: Sequence[ChatFile]) -> Fetched:
    """The bytes of each file, in order; notes (in the desk's language) for the rest."""
    got: list[Attachment] = []
    notes: list[str] = []
    lang = desk.language
    for f in dict.fromkeys(files):  # one message may be named twice (reply and follow-up)
        about = {"name": f.name, "size": size_text(lang, f.size), "file_id": f.file_id}
        if f.size is not None and f.size > DOWNLOAD_LIMIT:
            notes.append(t(lang, "files.too_big_to_fetch", **about))
            continue
        try:
            data = await _download(desk, f)
        except TelegramError as exc:
            log.warning("could not fetch Telegram file %s (%s): %s", f.file_id, f.name, exc)
            key = "files.too_big_to_fetch" if "too big" in str(exc).lower() \
                else "files.fetch_failed"
            notes.append(t(lang, key, reason=str(exc), **about))
            continue
        got.append(Attachment(f.name, f.content_type, data))
    return Fetched(tuple(got), tuple(notes))


async def _download(desk: Desk, f: ChatFile) -> bytes:
    found = await desk.bot.get_file(f.file_id)
    return bytes(await found.download_as_bytearray())


def noted(command: c.Command, fetched: Fetched) -> c.Command:
    """A command storing a text, with the notes of files not fetched under that text."""
    if not fetched.notes:
        return command
    if isinstance(command, c.AddComment):
        return replace(command, body=fetched.body(command.body))
    if isinstance(command, c.OpenTicket):
        return replace(command, description=fetched.body(command.description))
    return command
