"""File rows and their bytes on SQL (tables `attachments` and `blobs`, migration 0008).

Bytes are content-addressed: one `blobs` row per sha256, whatever number of messages
carry them. A file that came in a mail we keep raw is not copied beside it: its blob names
the inbound row (`inbound_id`) and the bytes are cut out of that mail again when someone
asks for them. A file with no raw record (a chat upload) has its bytes in the blob.

Several workers on one PostgreSQL insert the same blob at once without harm: `ON CONFLICT
DO NOTHING` on the sha256 key keeps the first, and the bytes are equal by construction.
Reading a ticket never reads a blob (`files_of` selects metadata only)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.model import Attachment
from engine.store.db import insert, reading
from engine.store.tables import attachments, blobs, comments, inbound

# A measurement knob for bench/files_store.py: True stores the bytes of a mailed file in
# the blob as well (what main did beside the raw mail, deduplicated); the service never
# sets it.
COPY_MAILED_BYTES = False

# Cuts a file's bytes out of a raw mail by their sha256 (the mail channel's parser,
# handed in by the bootstrap: the store knows no mail format).
Extract = Callable[[bytes, str], bytes | None]


async def add_files(conn: AsyncConnection, comment_id: int, ticket: int,
                    files: tuple[Attachment, ...]) -> None:
    files = tuple(_hashed(f) for f in files)
    kept = {f.sha256: f for f in files if f.refused is None and f.sha256}
    if kept:
        have = set((await conn.execute(
            select(blobs.c.sha256).where(blobs.c.sha256.in_(list(kept))))).scalars())
        # In sha256 order: two workers storing the same files lock them in one order.
        fresh = [_blob(f) for sha, f in sorted(kept.items()) if sha not in have and f.has_bytes]
        if fresh:
            await conn.execute(insert(conn.dialect, blobs)
                               .on_conflict_do_nothing(index_elements=["sha256"]), fresh)
    await conn.execute(attachments.insert(), [
        {"comment_id": comment_id, "ticket": ticket, "filename": f.filename,
         "content_type": f.content_type, "declared_type": f.declared_type[:255],
         "size": f.size, "sha256": f.sha256, "refused": f.refused} for f in files])


def _hashed(f: Attachment) -> Attachment:
    """The engine hashes every file it admits; a value stored directly is hashed here."""
    if f.sha256 or not f.has_bytes:
        return f
    return replace(f, sha256=hashlib.sha256(f.data).hexdigest())


def _blob(f: Attachment) -> dict[str, Any]:
    by_reference = f.found_in is not None and not COPY_MAILED_BYTES
    return {"sha256": f.sha256, "size": f.size, "data": None if by_reference else f.data,
            "inbound_id": f.found_in}


_META = (attachments.c.id, attachments.c.comment_id, attachments.c.filename,
         attachments.c.content_type, attachments.c.declared_type, attachments.c.size,
         attachments.c.sha256, attachments.c.refused)


async def files_of(conn: AsyncConnection, number: int) -> dict[int, list[Attachment]]:
    """A ticket's files by comment id: metadata only, never their bytes."""
    grouped: dict[int, list[Attachment]] = {}
    rows = await conn.execute(select(*_META).where(attachments.c.ticket == number)
                              .order_by(attachments.c.id))
    for r in rows:
        grouped.setdefault(r.comment_id, []).append(Attachment(
            filename=r.filename, content_type=r.content_type, size=r.size, id=r.id,
            sha256=r.sha256, declared_type=r.declared_type, refused=r.refused))
    return grouped


@dataclass(frozen=True)
class StoredFile:
    """Where a file's bytes are: in the blob (`data`), or in the raw mail `raw`."""

    id: int
    ticket: int
    filename: str
    size: int
    sha256: str
    refused: str | None
    data: bytes | None
    raw: bytes | None


async def stored_file(conn: AsyncConnection, attachment_id: int) -> StoredFile | None:
    row = (await conn.execute(
        select(attachments.c.id, attachments.c.ticket, attachments.c.filename,
               attachments.c.size, attachments.c.sha256, attachments.c.refused,
               blobs.c.data, inbound.c.raw)
        .select_from(attachments.outerjoin(blobs, blobs.c.sha256 == attachments.c.sha256)
                     .outerjoin(inbound, inbound.c.id == blobs.c.inbound_id))
        .where(attachments.c.id == attachment_id))).first()
    if row is None:
        return None
    return StoredFile(row.id, row.ticket, row.filename, row.size, row.sha256, row.refused,
                      None if row.data is None else bytes(row.data),
                      None if row.raw is None else bytes(row.raw))


def bytes_of(found: StoredFile, extract: Extract | None) -> bytes | None:
    """The exact bytes, or None (refused, or not to be found)."""
    if found.refused is not None:
        return None
    if found.data is not None:
        return found.data
    if found.raw is None or extract is None:
        return None
    return extract(found.raw, found.sha256)


async def attachment_bytes(engine: AsyncEngine, attachment_id: int,
                           extract: Extract | None) -> bytes | None:
    async with reading(engine) as conn:
        found = await stored_file(conn, attachment_id)
    return None if found is None else bytes_of(found, extract)


async def ticket_files(engine: AsyncEngine, number: int) -> list[dict[str, Any]]:
    """A ticket's files with who sent them and when, for `attachment get`. No bytes."""
    stmt = (select(*_META, attachments.c.ticket, comments.c.author_id, comments.c.created_at,
                   comments.c.public)
            .join(comments, comments.c.id == attachments.c.comment_id)
            .where(attachments.c.ticket == number).order_by(attachments.c.id))
    async with reading(engine) as conn:
        return [dict(r) for r in (await conn.execute(stmt)).mappings()]
