"""`engine.merge.MergeStore` on SQL: the rows of the merged ticket move, on the command's
own connection."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.commands import Command, MergeTickets
from engine.handlers import Handler
from engine.merge import merge_handler
from engine.ports import UnitOfWork
from engine.store.ratings_sql import uow_connection
from engine.store.search_sql import move_comments
from engine.store.tables import attachments, comments, message_refs


class SqlMergeStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def move(self, source: int, target: int) -> None:
        for table in (comments, attachments, message_refs):
            await self._conn.execute(update(table).where(table.c.ticket == source)
                                     .values(ticket=target))
        await move_comments(self._conn, source, target)


def merge_store(uow: UnitOfWork) -> SqlMergeStore:
    return SqlMergeStore(uow_connection(uow))


def sql_merge_handler() -> Handler:
    """`engine.merge.merge_handler` bound to this store: what the bootstrap wires."""
    return merge_handler(merge_store)


def merge_handlers() -> dict[type[Command], Handler]:
    return {MergeTickets: sql_merge_handler()}
