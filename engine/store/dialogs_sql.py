"""`engine.ports.DialogRepository` on SQL: first-line dialogs and their support-group
messages, written a batch at a time in the unit of work's transaction (one statement per
table, whatever the size of the batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.dialogs import Dialog, StoredMessage
from engine.store.db import insert
from engine.store.tables import dialogs, inbound, telegram_messages

_DIALOG_UPDATES = ("last_ref", "text", "last_message_at", "answered_at", "answered_by",
                   "response_seconds", "ticket", "status")
_MESSAGE_UPDATES = ("text", "edited_at", "dialog_ref")
_ANSWERED = select(dialogs.c.first_ref, dialogs.c.answered_at.is_not(None)).where(
    dialogs.c.first_ref.in_(bindparam("keys", expanding=True)))


def _dialog_values(d: Dialog) -> dict[str, Any]:
    return {"chat_id": d.chat_id, "author_id": d.author_id, "first_ref": d.key,
            "last_ref": d.last_ref, "text": d.text, "started_at": d.started_at,
            "last_message_at": d.last_message_at, "answered_at": d.answered_at,
            "answered_by": d.answered_by, "response_seconds": d.response_seconds,
            "ticket": d.ticket, "status": d.status}


class SqlDialogs:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def answered(self, keys: Sequence[str]) -> dict[str, bool]:
        if not keys:
            return {}
        rows = await self._conn.execute(_ANSWERED, {"keys": list(set(keys))})
        return {key: bool(answered) for key, answered in rows}

    async def save(self, changed: Sequence[Dialog]) -> None:
        if not changed:
            return
        stmt = insert(self._conn.dialect, dialogs)
        await self._conn.execute(stmt.on_conflict_do_update(
            index_elements=["first_ref"], set_={c: stmt.excluded[c] for c in _DIALOG_UPDATES}),
            [_dialog_values(d) for d in changed])

    async def save_messages(self, messages: Sequence[StoredMessage]) -> None:
        if not messages:
            return
        stmt = insert(self._conn.dialect, telegram_messages)
        await self._conn.execute(stmt.on_conflict_do_update(
            index_elements=["chat_id", "message_id"],
            set_={c: stmt.excluded[c] for c in _MESSAGE_UPDATES}),
            [vars(m) for m in messages])

    async def settle(self, journal_ids: Sequence[int]) -> None:
        if journal_ids:
            await self._conn.execute(update(inbound).where(inbound.c.id.in_(journal_ids))
                                     .values(status="done"))
