"""Files sent with a command (a document captioned "/reply 12 here is the manual", a mail
whose first line is `/reply`): they go with the text the command stores.

Only commands that store a text the files belong to take them: an answer or a note
(`AddComment`), a new ticket (`OpenTicket`). For any other command the files are kept on
the ticket instead (`leftover`: staff's as an internal note, a client's as their comment),
so nothing a person sent is dropped and nothing reaches a client that the command did not
say should.
"""

from __future__ import annotations

from dataclasses import replace

from engine import commands as c
from engine.model import Attachment


def takes_files(command: c.Command) -> bool:
    return isinstance(command, c.AddComment | c.OpenTicket)


def with_files(command: c.Command, files: tuple[Attachment, ...]) -> c.Command:
    """`command` carrying `files` (a command that takes none is returned as it is)."""
    if files and isinstance(command, c.AddComment | c.OpenTicket):
        return replace(command, attachments=(*command.attachments, *files))
    return command


def leftover(command: c.Command, ticket: int, body: str, files: tuple[Attachment, ...], *,
             public: bool = False) -> c.AddComment:
    """The comment keeping files a command could not take: an internal note of staff (a
    client's own files are their comment, `public`)."""
    return c.AddComment(actor=command.actor, channel=command.channel, at=command.at,
                        ticket=ticket, body=body, public=public, attachments=files)
