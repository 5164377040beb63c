"""The SLA scan in SQL: find targets due for a warning or a breach alert, record each alert once,
and enqueue its deliveries in the same transaction.

Candidates come from a range over the indexed due columns (never a walk over all tickets),
minus targets whose alert for this very due time is already recorded. An alert is a row of
`sla_alerts` unique on (ticket, kind, target, due_at), inserted with ON CONFLICT DO NOTHING;
only the scan that inserted it enqueues its outbox rows, which are keyed by the alert. So two
overlapping scans, or a scan after a restart, never alert twice. On PostgreSQL the candidate
rows are claimed FOR UPDATE SKIP LOCKED, so concurrent workers split the work instead of
queueing behind each other; on SQLite the scan's BEGIN IMMEDIATE serialises them.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, case, exists, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.model import Person, Role, Status
from engine.sla.escalation import (
    AlertFacts,
    Ladder,
    Rung,
    deliveries,
    outbox_items,
    rung,
    scan_cutoff,
)
from engine.sla.policy import SlaPolicies, Target
from engine.sla.status import Translate
from engine.store.db import insert
from engine.store.tables import sla_alerts, tickets
from engine.store.uow import SqlOutbox, SqlPeople, SqlTickets

log = logging.getLogger("ticketbot.sla")

# Statuses in which the clock runs; waiting, resolved and closed tickets are never chased.
RUNNING = (Status.OPEN.value, Status.IN_PROGRESS.value)
# Alerts handled per target per scan; the rest wait for the next scan, 30 s later.
BATCH = 500

_DUE = {Target.FIRST_RESPONSE: tickets.c.first_response_due,
        Target.RESOLUTION: tickets.c.resolution_due}


@dataclass(frozen=True)
class ScanReport:
    warnings: int = 0
    breaches: int = 0
    deliveries: int = 0

    def __add__(self, other: ScanReport) -> ScanReport:
        return ScanReport(self.warnings + other.warnings, self.breaches + other.breaches,
                          self.deliveries + other.deliveries)


@dataclass(frozen=True)
class _At:
    """The scan's clock: every row it writes is stamped with the scan's own `now`."""

    at: dt.datetime

    def now(self) -> dt.datetime:
        return self.at


def _unindexed(column: Column[Any], postgres: bool) -> ColumnElement[Any]:
    """On SQLite, `+column` keeps a filter from being answered by that column's index.

    Without statistics SQLite would rather walk the status or first_response_at index (every
    open, unanswered ticket) and sort, than range over the due index it can stop early in.
    PostgreSQL plans by its statistics and needs no such help."""
    if postgres:
        return column
    return literal_column(f"+{column.table.name}.{column.name}", type_=column.type)


def candidates_query(target: Target, cutoff: dt.datetime, now: dt.datetime, limit: int,
                     postgres: bool) -> Any:
    due = _DUE[target]
    kind = case((due <= now, Rung.BREACH.value), else_=Rung.WARN.value)
    recorded = exists().where(sla_alerts.c.ticket == tickets.c.number,
                              sla_alerts.c.target == target.value,
                              sla_alerts.c.due_at == due, sla_alerts.c.kind == kind)
    stmt = (select(tickets.c.number, tickets.c.sla_policy, due.label("due"))
            .where(due <= cutoff, _unindexed(tickets.c.status, postgres).in_(RUNNING),
                   ~recorded)
            .order_by(due).limit(limit))
    if target is Target.FIRST_RESPONSE:
        stmt = stmt.where(_unindexed(tickets.c.first_response_at, postgres).is_(None))
    if postgres:
        stmt = stmt.with_for_update(of=tickets, skip_locked=True)
    return stmt


class _Scan:
    """One scan inside one transaction."""

    def __init__(self, conn: AsyncConnection, policies: SlaPolicies, ladder: Ladder,
                 now: dt.datetime, t: Translate) -> None:
        self.conn, self.policies, self.ladder, self.now, self.t = conn, policies, ladder, now, t
        self.tickets, self.people = SqlTickets(conn), SqlPeople(conn)
        self.outbox = SqlOutbox(conn, _At(now))
        self._leads: list[Person] | None = None

    async def target(self, target: Target, limit: int) -> ScanReport:
        cutoff = scan_cutoff(self.policies.policies, target, self.now)
        postgres = self.conn.dialect.name == "postgresql"
        rows = (await self.conn.execute(
            candidates_query(target, cutoff, self.now, limit, postgres))).all()
        report = ScanReport()
        for row in rows:
            report += await self._one(target, row)
        return report

    async def _one(self, target: Target, row: Row[Any]) -> ScanReport:
        policy = self.policies.get(row.sla_policy)
        step = rung(policy, target, row.due, self.now)
        if step is None:  # inside the widest policy's window, not yet inside its own
            return ScanReport()
        alert_id = await self._record(row.number, step, target, row.due)
        if alert_id is None:
            return ScanReport()
        ticket = await self.tickets.get(row.number)
        assert ticket is not None  # the row was just read in this transaction
        who = None if ticket.responsible_id is None else await self.people.get(
            ticket.responsible_id)
        facts = AlertFacts(ticket, policy, target, step, row.due, who)
        sent = deliveries(step, ticket, who, await self._lead_list(), self.ladder, self.now)
        for item in outbox_items(alert_id, facts, sent, self.now, self.t):
            await self.outbox.enqueue(item)
        log.info("#%s sla %s %s due %s: %d deliveries", row.number, target.value, step.value,
                 row.due.isoformat(), len(sent))
        is_warn = step is Rung.WARN
        return ScanReport(int(is_warn), int(not is_warn), len(sent))

    async def _record(self, number: int, step: Rung, target: Target,
                      due: dt.datetime) -> int | None:
        stmt = (insert(self.conn.dialect, sla_alerts)
                .values(ticket=number, kind=step.value, target=target.value, due_at=due,
                        sent_at=self.now)
                .on_conflict_do_nothing(index_elements=["ticket", "kind", "target", "due_at"])
                .returning(sla_alerts.c.id))
        alert_id: int | None = (await self.conn.execute(stmt)).scalar_one_or_none()
        return alert_id

    async def _lead_list(self) -> list[Person]:
        """The leads hear of breaches; with no lead configured, the admins do."""
        if self._leads is None:
            self._leads = (await self.people.with_role(Role.LEAD)
                           or await self.people.with_role(Role.ADMIN))
        return self._leads


async def scan_sla(engine: AsyncEngine, policies: SlaPolicies, ladder: Ladder,
                   now: dt.datetime, t: Translate, limit: int = BATCH) -> ScanReport:
    """One scan at `now`, committed as a whole: alerts and their outbox rows, or nothing."""
    async with engine.connect() as conn, conn.begin():
        scan = _Scan(conn, policies, ladder, now, t)
        report = ScanReport()
        for target in Target:
            report += await scan.target(target, limit)
    return report
