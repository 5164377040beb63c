"""What the channel says goes through the engine's outbox like every other message, keyed by
the update that caused it, so a replayed update never answers twice and a 429 or a restart
only delays an answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.channels.telegram.deliver.render import Buttons
from engine.notify.kinds import NoticeKind
from engine.outbox import OutboxQueue
from engine.ports import OutboxItem

CHANNEL = "telegram"
FILES_OF = "files_of"  # the payload key naming the comment whose files follow a message


@dataclass(frozen=True)
class Reply:
    chat_id: int
    html: str
    reply_to: int | None = None
    ticket: int | None = None
    buttons: Buttons | None = None
    thread_id: int | None = None


def reply_item(key: str, reply: Reply, language: str,
               files_of: int | None = None) -> OutboxItem:
    """Pre-rendered HTML; `files_of`: the comment whose files follow under it."""
    return OutboxItem(key=key, channel=CHANNEL, recipient=str(reply.chat_id),
                      kind=NoticeKind.REPLY, ticket=reply.ticket, language=language,
                      payload={"html": reply.html, "reply_to": reply.reply_to,
                               "buttons": reply.buttons, "thread": reply.thread_id,
                               **_files_of(files_of)})


def edit_item(key: str, chat_id: int, message_id: int, html: str,
              buttons: Buttons | None, language: str) -> OutboxItem:
    """A new text (and keyboard) for a message the bot sent."""
    return OutboxItem(key=key, channel=CHANNEL, recipient=str(chat_id), kind=NoticeKind.EDIT,
                      language=language,
                      payload={"message_id": message_id, "html": html, "buttons": buttons})


def echo_edit_item(key: str, chat_id: int, echo_key: str, html: str, language: str,
                   ) -> OutboxItem:
    """A new text (no keyboard) for the echo of an answer (bot/channels/telegram/deliver/
    mirror.py), named by the echo's own outbox key: its message id is known only once the
    echo is sent, after this row was queued."""
    return OutboxItem(key=key, channel=CHANNEL, recipient=str(chat_id), kind=NoticeKind.EDIT,
                      language=language, payload={"echo": echo_key, "html": html,
                                                  "buttons": None})


def card_item(key: str, ticket: int, chat_id: int, reply_to: int | None,
              language: str) -> OutboxItem:
    """A ticket's status card, rendered at send time from the ticket's state."""
    return OutboxItem(key=key, channel=CHANNEL, recipient=str(chat_id), kind=NoticeKind.CARD,
                      ticket=ticket, language=language, payload={"reply_to": reply_to})


def post_item(key: str, ticket: int, chat_id: int, html: str, language: str,
              files_of: int | None = None) -> OutboxItem:
    """Pre-rendered HTML about a ticket, under the ticket's card in that chat; `files_of`:
    the comment whose files follow under it."""
    return OutboxItem(key=key, channel=CHANNEL, recipient=str(chat_id), kind=NoticeKind.POST,
                      ticket=ticket, language=language,
                      payload={"html": html, **_files_of(files_of)})


def file_item(key: str, ticket: int, chat_id: int, comment_id: int, index: int,
              reply_to: int, language: str) -> OutboxItem:
    """The `index`th file of a comment, as a document under message `reply_to`."""
    return OutboxItem(key=key, channel=CHANNEL, recipient=str(chat_id), kind=NoticeKind.FILE,
                      ticket=ticket, language=language,
                      payload={"comment_id": comment_id, "index": index,
                               "reply_to": reply_to})


def _files_of(comment_id: int | None) -> dict[str, int]:
    return {} if comment_id is None else {FILES_OF: comment_id}


class Outbound:
    def __init__(self, outbox: OutboxQueue, wake: Callable[[], None]) -> None:
        self._outbox = outbox
        self._wake = wake

    def wake(self) -> None:
        self._wake()

    async def reply(self, key: str, reply: Reply, language: str) -> None:
        await self.enqueue(reply_item(key, reply, language))

    async def enqueue(self, *items: OutboxItem) -> None:
        await self._outbox.enqueue_all(items)
        self._wake()
