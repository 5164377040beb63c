"""First-line dialogs (F5, F10) as the engine keeps them: one person's question in the
support group (several messages) and the first specialist answer to it, whose delay is the
first line's response time. Which message opens, joins or answers a dialog is the chat
channel's rule (`bot/channels/telegram/understand/dialogs.py`); the engine stores the
result with `RecordDialogs` and says what happened with a desk event (engine/desk.py).

A dialog is keyed by the ref of its first message (`engine/chatrefs.py`), so a batch of
them is written in one statement without reading their row ids back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

from engine.chatrefs import ref

OPEN, ANSWERED, TICKET = "open", "answered", "ticket"
# A long reply chain must not grow one row without bound; Telegram caps a message at 4096.
MAX_TEXT = 20_000


class Said(Protocol):
    """One message of the chat, as much of it as a dialog keeps."""

    @property
    def message_id(self) -> int: ...
    @property
    def author_id(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def date(self) -> dt.datetime: ...


@dataclass(frozen=True)
class Part:
    message_id: int
    author_id: int
    text: str


@dataclass(frozen=True)
class Dialog:
    chat_id: int
    author_id: int
    first_message_id: int
    started_at: dt.datetime
    last_message_at: dt.datetime
    parts: tuple[Part, ...]
    status: str = OPEN
    answered_at: dt.datetime | None = None
    answered_by: int | None = None
    ticket: int | None = None
    id: int | None = None  # the row id, once stored and read back

    @cached_property
    def key(self) -> str:
        # Asked for at every step of the first line (indexes, batches, events); kept in the
        # instance, which is frozen, so the key cannot go stale.
        return ref(self.chat_id, self.first_message_id)

    @property
    def last_ref(self) -> str:
        return ref(self.chat_id, self.last_message_id)

    @property
    def last_message_id(self) -> int:
        return self.parts[-1].message_id if self.parts else self.first_message_id

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.parts)[:MAX_TEXT]

    @property
    def response_seconds(self) -> int | None:
        if self.answered_at is None:
            return None
        return max(0, int((self.answered_at - self.started_at).total_seconds()))

    def joined(self, line: Said) -> Dialog:
        part = Part(line.message_id, line.author_id, line.text)
        return replace(self, parts=(*self.parts, part),
                       last_message_at=max(self.last_message_at, line.date))

    def answered(self, by: int, at: dt.datetime) -> Dialog:
        # A reply can carry an earlier date than the question only through clock skew.
        return replace(self, status=ANSWERED, answered_by=by, answered_at=max(at, self.started_at))

    def edited(self, message_id: int, text: str) -> Dialog:
        parts = tuple(replace(p, text=text) if p.message_id == message_id else p
                      for p in self.parts)
        return replace(self, parts=parts)

    def follow_ups(self, from_message: int) -> tuple[Part, ...]:
        """The message `/ticket` was given and its author's later messages in this dialog."""
        start = next((p for p in self.parts if p.message_id == from_message), None)
        if start is None:
            return ()
        return tuple(p for p in self.parts
                     if p.author_id == start.author_id and p.message_id >= from_message)


@dataclass(frozen=True)
class StoredMessage:
    """A support-group message as stored: reply chains, edits and the follow-ups `/ticket`
    takes along are read back from these. `dialog_ref` is its dialog's key, if any."""

    chat_id: int
    message_id: int
    author_id: int | None
    dialog_ref: str | None
    reply_to: int | None
    text: str
    sent_at: dt.datetime
    edited_at: dt.datetime | None = None
