"""A comment's files follow the chat message that tells of it, as documents replying to that
message, captioned with the file's name: a client's mail with a PDF shows the PDF under the
ticket's post in the staff chat and under the specialist's private notice; a specialist's
answer with a file shows it under the answer in the asker's chats.

The files are queued (one outbox row each, kind `file`) only once their message is sent, so
an answer withdrawn with `/undo` never sends its files, a retried file never sends its
message twice, and they keep their place in the chat's lane. A file only staff may read
(an internal note's) goes to staff only: the staff chat, or a staff member privately.
"""

from __future__ import annotations

from bot.attachments import files_of, request_of
from bot.channels.telegram.deliver.outbound import FILES_OF, file_item
from bot.channels.telegram.read import View
from engine.model import Comment
from engine.notify.kinds import NoticeKind as K
from engine.outbox import OutboxRow
from engine.ports import OutboxItem

SEND_LIMIT = 50 * 1024 * 1024  # the Bot API takes uploads up to 50 MB
CAPTION_LIMIT = 1024
# Staff notices that carry the ticket's request, and so its files.
_WITH_REQUEST = frozenset({K.CREATED, K.ASSIGNED})
_ABOUT_COMMENT = frozenset({K.COMMENT, K.NOTE})


def may_follow(row: OutboxRow) -> bool:
    """Whether files may follow this row at all (most rows: no look-up)."""
    return row.ticket is not None and (FILES_OF in row.payload or row.kind in _ABOUT_COMMENT
                                       or row.kind in _WITH_REQUEST)


async def following(row: OutboxRow, v: View, chat: int, message_id: int,
                    staff_chat: int | None) -> list[OutboxItem]:
    """The file rows to queue under `message_id`, the message `row` was just sent as."""
    comment = await _comment_of(row, v)
    if row.ticket is None or comment is None or not files_of(comment):
        return []
    if row.person_id is not None and row.person_id == comment.author_id:
        return []  # nobody is sent their own files back
    staff_only = not comment.public or row.kind in _WITH_REQUEST
    if staff_only and not await _staff_reads(row, v, chat, staff_chat):
        return []
    return [file_item(f"{row.key}:file:{i}", row.ticket, chat, comment.id, i, message_id,
                      row.language) for i in range(len(files_of(comment)))]


async def _comment_of(row: OutboxRow, v: View) -> Comment | None:
    if row.ticket is None:
        return None
    named = row.payload.get(FILES_OF)
    if named is None and row.kind in _ABOUT_COMMENT:
        named = row.payload.get("comment_id")
    if isinstance(named, int):
        return await v.comment(row.ticket, named)
    if row.kind in _WITH_REQUEST:
        return request_of(await v.comments.for_ticket(row.ticket))
    return None


async def _staff_reads(row: OutboxRow, v: View, chat: int, staff_chat: int | None) -> bool:
    if staff_chat is not None and chat == staff_chat:
        return True
    reader = None if row.person_id is None else await v.people.get(row.person_id)
    return reader is not None and reader.role.is_staff
