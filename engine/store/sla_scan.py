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

from sqlalchemy import Column, ColumnElement, Row, case, exists, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.model import Person, Role, Status, Ticket
from engine.ports import OutboxItem
from engine.sla.escalation import (
    AlertFacts,
    Ladder,
    Rung,
    deliveries,
    outbox_items,
    rung,
    scan_cutoff,
)
from engine.sla.policy import SlaPolicies, SlaPolicy, Target
from engine.sla.status import Translate
from engine.store.db import insert
from engine.store.tables import outbox, sla_alerts, tickets
from engine.store.uow import SqlPeople

log = logging.getLogger("ticketbot.sla")

# Statuses in which the clock runs; waiting, resolved and closed tickets are never chased.
RUNNING = (Status.OPEN.value, Status.IN_PROGRESS.value)
# Alerts handled per target per scan; the rest wait for the next scan, 30 s later.
BATCH = 500

_DUE = {Target.FIRST_RESPONSE: tickets.c.first_response_due,
        Target.NEXT_RESPONSE: tickets.c.next_response_due,
        Target.RESOLUTION: tickets.c.resolution_due}


@dataclass(frozen=True)
class ScanReport:
    warnings: int = 0
    breaches: int = 0
    deliveries: int = 0

    def __add__(self, other: ScanReport) -> ScanReport:
        return ScanReport(self.warnings + other.warnings, self.breaches + other.breaches,
                          self.deliveries + other.deliveries)


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
    # A warning is given once per ticket and target: a pause that moves the due time does
    # not warn again. A breach is per due time (a target met late, then due anew, is new).
    recorded = exists().where(sla_alerts.c.ticket == tickets.c.number,
                              sla_alerts.c.target == target.value, sla_alerts.c.kind == kind,
                              or_(sla_alerts.c.kind == Rung.WARN.value,
                                  sla_alerts.c.due_at == due))
    stmt = (select(tickets.c.number, tickets.c.sla_policy, due.label("due"))
            .where(due <= cutoff, _unindexed(tickets.c.status, postgres).in_(RUNNING),
                   ~recorded)
            .order_by(due).limit(limit))
    if target is Target.FIRST_RESPONSE:
        stmt = stmt.where(_unindexed(tickets.c.first_response_at, postgres).is_(None))
    if postgres:
        stmt = stmt.with_for_update(of=tickets, skip_locked=True)
    return stmt


@dataclass(frozen=True)
class _Due:
    number: int
    policy: SlaPolicy
    step: Rung
    due: dt.datetime


def _ticket(row: Row[Any]) -> Ticket:
    values = dict(row._mapping)
    values.update(status=Status(values["status"]), cc=tuple(values["cc"]))
    return Ticket(**values)


def _outbox_row(item: OutboxItem, now: dt.datetime) -> dict[str, Any]:
    return {"key": item.key, "channel": item.channel, "recipient": item.recipient,
            "kind": item.kind.value, "ticket": item.ticket, "person_id": item.person_id,
            "language": item.language, "payload": item.payload,
            "not_before": item.not_before, "created_at": now}


class _Scan:
    """One scan inside one transaction. Each step is one statement for the whole batch
    (candidates, alerts, tickets, outbox rows), so a backlog costs a handful of round trips."""

    def __init__(self, conn: AsyncConnection, policies: SlaPolicies, ladder: Ladder,
                 now: dt.datetime, t: Translate) -> None:
        self.conn, self.policies, self.ladder, self.now, self.t = conn, policies, ladder, now, t
        self.people = SqlPeople(conn)
        self._people: dict[int, Person | None] = {}
        self._leads: list[Person] | None = None

    async def target(self, target: Target, limit: int) -> ScanReport:
        dues = await self._due(target, limit)
        recorded = await self._record(target, dues)
        fresh = [d for d in dues if d.number in recorded]
        tickets_by_number = await self._tickets([d.number for d in fresh])
        items: list[OutboxItem] = []
        for due in fresh:
            facts = await self._facts(target, due, tickets_by_number[due.number])
            sent = deliveries(due.step, facts.ticket, facts.responsible,
                              await self._lead_list(), self.ladder, self.now)
            items += outbox_items(recorded[due.number], facts, sent, self.now, self.t)
            log.info("#%s sla %s %s due %s: %d deliveries", due.number, target.value,
                     due.step.value, due.due.isoformat(), len(sent))
        await self._enqueue(items)
        warned = sum(d.step is Rung.WARN for d in fresh)
        return ScanReport(warned, len(fresh) - warned, len(items))

    async def _due(self, target: Target, limit: int) -> list[_Due]:
        """Candidates on the rung of their own policy (the query used the widest window)."""
        cutoff = scan_cutoff(self.policies.policies, target, self.now)
        postgres = self.conn.dialect.name == "postgresql"
        rows = await self.conn.execute(candidates_query(target, cutoff, self.now, limit,
                                                        postgres))
        found = []
        for number, name, due in rows:
            policy = self.policies.get(name)
            step = rung(policy, target, due, self.now)
            if step is not None:
                found.append(_Due(number, policy, step, due))
        return found

    async def _record(self, target: Target, dues: list[_Due]) -> dict[int, int]:
        """Alert ids by ticket, for the alerts this scan recorded (not those already there)."""
        if not dues:
            return {}
        stmt = (insert(self.conn.dialect, sla_alerts)
                .on_conflict_do_nothing(index_elements=["ticket", "kind", "target", "due_at"])
                .returning(sla_alerts.c.ticket, sla_alerts.c.id))
        rows = await self.conn.execute(stmt, [
            {"ticket": d.number, "kind": d.step.value, "target": target.value, "due_at": d.due,
             "sent_at": self.now} for d in dues])
        return {row.ticket: row.id for row in rows}

    async def _tickets(self, numbers: list[int]) -> dict[int, Ticket]:
        if not numbers:
            return {}
        rows = await self.conn.execute(select(tickets).where(tickets.c.number.in_(numbers)))
        return {row.number: _ticket(row) for row in rows}

    async def _facts(self, target: Target, due: _Due, ticket: Ticket) -> AlertFacts:
        who = await self._person(ticket.responsible_id)
        return AlertFacts(ticket, due.policy, target, due.step, due.due, who)

    async def _person(self, person_id: int | None) -> Person | None:
        if person_id is None:
            return None
        if person_id not in self._people:
            self._people[person_id] = await self.people.get(person_id)
        return self._people[person_id]

    async def _lead_list(self) -> list[Person]:
        """The leads hear of breaches; with no lead configured, the admins do."""
        if self._leads is None:
            self._leads = (await self.people.with_role(Role.LEAD)
                           or await self.people.with_role(Role.ADMIN))
        return self._leads

    async def _enqueue(self, items: list[OutboxItem]) -> None:
        if items:
            stmt = insert(self.conn.dialect, outbox).on_conflict_do_nothing(
                index_elements=["key"])
            await self.conn.execute(stmt, [_outbox_row(i, self.now) for i in items])


async def scan_on(conn: AsyncConnection, policies: SlaPolicies, ladder: Ladder,
                  now: dt.datetime, t: Translate, limit: int = BATCH) -> ScanReport:
    """One scan inside the caller's transaction on `conn`."""
    scan = _Scan(conn, policies, ladder, now, t)
    report = ScanReport()
    for target in Target:
        report += await scan.target(target, limit)
    return report


async def scan_sla(engine: AsyncEngine, policies: SlaPolicies, ladder: Ladder,
                   now: dt.datetime, t: Translate, limit: int = BATCH) -> ScanReport:
    """One scan at `now`, committed as a whole: alerts and their outbox rows, or nothing."""
    async with engine.connect() as conn, conn.begin():
        return await scan_on(conn, policies, ladder, now, t, limit)
