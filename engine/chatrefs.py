"""Chat message refs as the engine stores them (`uow.refs`, dialog keys):
`tg:<chat_id>:<message_id>`. The Telegram channel makes and reads them through
`bot/channels/telegram/understand/refs.py`."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "tg:"


@dataclass(frozen=True)
class MessageRef:
    chat_id: int
    message_id: int

    def __str__(self) -> str:
        return f"{PREFIX}{self.chat_id}:{self.message_id}"


def ref(chat_id: int, message_id: int) -> str:
    return str(MessageRef(chat_id, message_id))


def parse_ref(text: str | None) -> MessageRef | None:
    """The chat and message of a ref, or None for a mail Message-ID or anything else."""
    if not text or not text.startswith(PREFIX):
        return None
    chat, _, message = text[len(PREFIX):].partition(":")
    try:
        return MessageRef(int(chat), int(message))
    except ValueError:
        return None
