"""The one place the channels read a comment's files (name, type, bytes) from storage: the
mail renderer attaches them, the Telegram delivery sends them as documents. A change in how
the bytes are kept (deduplicated, fetched by id on demand) changes this module only."""

from __future__ import annotations

from collections.abc import Sequence

from engine.model import Attachment, Comment
from engine.views import CommentReader, Views


def files_of(comment: Comment) -> tuple[Attachment, ...]:
    """The files kept (a file a size limit refused has no bytes to send), as metadata:
    `file_bytes` fetches one's bytes."""
    return tuple(a for a in comment.attachments if a.refused is None)


async def file_bytes(views: Views, f: Attachment) -> bytes | None:
    """A file's bytes: a ticket is read without them, so they are fetched by id."""
    return f.data if f.has_bytes else await views.attachment_bytes(f.id)


def request_of(comments: Sequence[Comment]) -> Comment | None:
    """The ticket's first comment: the request itself, with the files it came with."""
    return comments[0] if comments else None


async def comment_files(comments: CommentReader, ticket: int,
                        comment_id: int) -> tuple[Attachment, ...]:
    found = next((c for c in await comments.for_ticket(ticket) if c.id == comment_id), None)
    return () if found is None else files_of(found)
