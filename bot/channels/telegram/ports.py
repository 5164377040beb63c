"""The Telegram channel's own storage port: the update journal, first-line dialogs and their
messages (read here; written by the engine's `RecordDialogs`), status cards and private-chat
reachability. The SQL adapter is `bot/storage/telegram_sql.py`, wired by `bot/bootstrap.py`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.dialogs import Dialog, StoredMessage

CHANNEL = "telegram"
FINISHED = ("resolved", "closed")
LIST_LIMIT = 20

__all__ = ["CHANNEL", "FINISHED", "LIST_LIMIT", "Card", "ChatStore", "MyTickets", "PersonRow",
           "StoredMessage", "TicketLine"]


@dataclass(frozen=True)
class Card:
    message_id: int
    text: str


@dataclass(frozen=True)
class TicketLine:
    number: int
    subject: str
    status: str
    created_at: dt.datetime


@dataclass(frozen=True)
class MyTickets:
    doing: list[TicketLine]
    leading: list[TicketLine]
    observing: list[TicketLine]


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    role: str
    telegram_id: int | None
    language: str
    notify_via: str
    username: str | None
    company_id: int | None



class ChatStore(Protocol):
    async def journal(self, updates: Sequence[tuple[int, bytes]],
                      at: dt.datetime) -> dict[int, int]: ...
    async def finish(self, ids: Iterable[int], status: str = "done") -> None: ...
    async def journal_answered(self, updates: Sequence[tuple[int, bytes]], at: dt.datetime,
                               refs: Sequence[tuple[int, str]]) -> None:
        """Updates answered already (act/quick.py), journaled as done in one transaction
        with the (ticket, message ref) of each answer about a ticket."""
        ...
    async def open_dialogs(self, chat_ids: Sequence[int]) -> list[Dialog]: ...
    async def dialog_of_message(self, chat_id: int, message_id: int) -> Dialog | None: ...
    async def dialog(self, dialog_id: int) -> Dialog | None: ...
    async def recent_questions(self, chat_id: int, limit: int) -> list[Dialog]: ...
    async def message(self, chat_id: int, message_id: int) -> StoredMessage | None: ...
    async def card(self, ticket: int, chat_id: int) -> Card | None: ...
    async def save_card(self, ticket: int, chat_id: int, message_id: int, text: str,
                        at: dt.datetime) -> None: ...
    async def sent_about(self, ticket: int, chat_id: int, message_id: int,
                         at: dt.datetime) -> None: ...
    async def mark_started(self, user_id: int, username: str | None, at: dt.datetime) -> None: ...
    async def mark_blocked(self, user_id: int, at: dt.datetime) -> None: ...
    async def is_blocked(self, user_id: int) -> bool: ...
    async def reachable(self) -> set[int]:
        """Users who pressed Start (or wrote to the bot) and have not blocked it since."""
        ...
    async def people(self) -> list[PersonRow]: ...
    async def my_tickets(self, person_id: int) -> MyTickets: ...
    async def queue(self) -> list[TicketLine]: ...
    async def earlier_unsent(self, recipient: str, before: int,
                             now: dt.datetime) -> tuple[int, dt.datetime | None] | None: ...
