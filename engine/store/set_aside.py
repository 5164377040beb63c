"""Deliveries given up ("set aside"): staff are told, once per row, in the staff chat (or,
without one, each lead on their own channel), with the reason and the ticket; `ticketbot
outbox failed` lists them and `ticketbot outbox retry ID` sends one again.

A scan, like the SLA scan: rows set aside in the last `WINDOW` and not yet told are found
and their notices enqueued in one transaction. The first notice of a row has the key
`set-aside:<row id>`, which is also what marks the row as told, so a scan after a restart,
or two overlapping scans, never tell twice; a retried row that fails again is not told
again. A guard's deliberate skip (a no-reply address, the automatic-mail cap, a private
chat that refused us and got the group instead) is listed but is no news to anyone; nor
is a notice of this kind that failed itself (no notices about notices).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, String, and_, cast, exists, literal, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.model import Person, Role
from engine.notify.kinds import NoticeKind
from engine.ports import Clock, OutboxItem
from engine.store.db import reading
from engine.store.tables import outbox
from engine.store.uow import WITHDRAWN, SqlOutbox, SqlPeople

log = logging.getLogger("ticketbot.outbox")

KIND = NoticeKind.DELIVERY_FAILED
KEY_PREFIX = "set-aside:"
WINDOW = dt.timedelta(days=7)
BATCH = 50
# Given up on purpose, not failed: a guard's skip, a fallback, an answer withdrawn by /undo.
QUIET = ("skipped:", "private chat unreachable", WITHDRAWN)

Target = tuple[str, str, Person | None, str]  # channel, recipient, person, language


@dataclass(frozen=True)
class Recipients:
    staff_chat: str | None
    staff_language: str = "en"


@dataclass(frozen=True)
class SetAside:
    """One row given up, as `ticketbot outbox failed` shows it."""

    id: int
    channel: str
    recipient: str
    kind: str
    ticket: int | None
    attempts: int
    reason: str
    failed_at: dt.datetime


def _set_aside(since: dt.datetime | None) -> Any:
    c = outbox.c
    found = and_(c.failed_at.is_not(None), c.sent_at.is_(None))
    return found if since is None else and_(found, c.failed_at >= since)


def _untold() -> Any:
    notice = outbox.alias("notice")
    told = exists().where(notice.c.key == literal(KEY_PREFIX, String) + cast(outbox.c.id,
                                                                               String))
    quiet = or_(*[outbox.c.last_error.startswith(q) for q in QUIET])
    return and_(outbox.c.kind != KIND.value, not_(told), not_(quiet))


def _view(row: Row[Any]) -> SetAside:
    return SetAside(row.id, row.channel, row.recipient, row.kind, row.ticket, row.attempts,
                    row.last_error or "", row.failed_at)


async def list_set_aside(db: AsyncEngine, limit: int = 200) -> list[SetAside]:
    """Every row given up, newest first."""
    stmt = (select(outbox).where(_set_aside(None)).order_by(outbox.c.failed_at.desc(),
                                                            outbox.c.id.desc()).limit(limit))
    async with reading(db) as conn:
        return [_view(r) for r in await conn.execute(stmt)]


async def report_set_aside(db: AsyncEngine, to: Recipients, clock: Clock) -> int:
    """Enqueue the notices of rows set aside and not yet told; how many rows were told."""
    now = clock.now()
    stmt = (select(outbox).where(_set_aside(now - WINDOW), _untold())
            .order_by(outbox.c.id).limit(BATCH)
            .with_for_update(skip_locked=True, of=outbox))  # rendered on PostgreSQL only
    async with db.begin() as conn:
        rows = [_view(r) for r in await conn.execute(stmt)]
        if not rows:
            return 0
        targets = await _targets(conn, to)
        if not targets:
            log.warning("%s deliveries set aside and nobody to tell (no staff chat, no "
                        "lead): see `ticketbot outbox failed`", len(rows))
            return 0
        queue = SqlOutbox(conn, clock)
        for row in rows:
            log.warning("outbox %s (%s to %s, #%s) set aside: %s", row.id, row.kind,
                        row.recipient, row.ticket, row.reason)
            for item in notices(row, targets):
                await queue.enqueue(item)
    return len(rows)


async def _targets(conn: AsyncConnection, to: Recipients) -> list[Target]:
    """(channel, recipient, person, language): the staff chat, else each lead."""
    if to.staff_chat is not None:
        return [("telegram", to.staff_chat, None, to.staff_language)]
    found: list[Target] = []
    for lead in await SqlPeople(conn).with_role(Role.LEAD):
        if lead.notify_via == "none":
            continue
        if lead.telegram_id is not None and lead.notify_via != "email":
            found.append(("telegram", str(lead.telegram_id), lead, lead.language))
        elif lead.emails:
            found.append(("email", lead.emails[0], lead, lead.language))
    return found


def notices(row: SetAside, targets: Sequence[Target]) -> list[OutboxItem]:
    """The first target's key marks the row as told."""
    items = []
    for n, (channel, recipient, person, lang) in enumerate(targets):
        values: dict[str, Any] = {
            "outbox_id": row.id, "what": row.kind, "recipient": row.recipient,
            "channel": row.channel, "reason": row.reason[:300],
            "number": row.ticket if row.ticket is not None else "-"}
        items.append(OutboxItem(
            key=f"{KEY_PREFIX}{row.id}" + ("" if n == 0 else f":{channel}:{recipient}"),
            channel=channel, recipient=recipient, kind=KIND, ticket=row.ticket,
            person_id=None if person is None else person.id, language=lang, payload=values))
    return items
