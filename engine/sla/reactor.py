"""Keeps each ticket's SLA policy and due times current, inside the command's transaction.

Pauses are derived from the ticket's own status history in the event log, so no extra
bookkeeping field is needed and a recomputation from scratch always gives the same answer.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from engine import events as e
from engine.context import Context
from engine.model import FINISHED, Status, Ticket
from engine.ports import StoredEvent
from engine.sla.deadlines import StatusChange, compute_dues, next_response_due, pauses_from
from engine.sla.policy import SlaPolicies

log = logging.getLogger("ticketbot.sla")

# Events that can move a deadline: the start, the clock stopping or resuming, the first public
# answer, and the priority or type (either may choose another policy). Others leave
# deadlines alone.
RECOMPUTE_ON = frozenset({e.TicketOpened.kind, e.StatusChanged.kind, e.CommentAdded.kind,
                          e.PriorityChanged.kind, e.TypeChanged.kind,
                          e.TicketMoved.kind})


def status_changes(history: list[StoredEvent]) -> list[StatusChange]:
    return [StatusChange(at=ev.at, new=Status(ev.payload["new"]))
            for ev in history if ev.kind == e.StatusChanged.kind]


async def _company_name(ctx: Context, ticket: Ticket, policies: SlaPolicies) -> str | None:
    if ticket.company_id is None or not policies.uses_companies:
        return None
    company = await ctx.uow.people.company(ticket.company_id)
    return None if company is None else company.name


async def recompute(ctx: Context, ticket: Ticket, policies: SlaPolicies,
                    new_ticket: bool = False) -> bool:
    """Set the policy and due times on `ticket`; True when anything changed."""
    policy = policies.choose(ticket, await _company_name(ctx, ticket, policies))
    # A ticket being opened has no status history yet: no query needed.
    history = [] if new_ticket else await ctx.uow.events.for_ticket(ticket.number)
    pauses = pauses_from(status_changes(history))
    dues = compute_dues(policy, ticket.created_at, ticket.first_response_at,
                        ticket.resolved_at, pauses, ctx.at)
    since = awaiting_since(history)
    next_due = None if since is None or ticket.status in FINISHED else \
        next_response_due(policy, since, pauses, ctx.at)
    new = (policy.name, dues.first_response, dues.resolution, next_due)
    old = (ticket.sla_policy, ticket.first_response_due, ticket.resolution_due,
           ticket.next_response_due)
    if new == old:
        return False
    (ticket.sla_policy, ticket.first_response_due, ticket.resolution_due,
     ticket.next_response_due) = new
    return True


def awaiting_since(history: list[StoredEvent]) -> dt.datetime | None:
    """When the client's oldest unanswered public message came, once staff had answered
    before (until the first answer, the first-response target is the one that runs)."""
    answered, since = False, None
    for ev in history:
        if ev.kind != e.CommentAdded.kind or not ev.payload.get("public"):
            continue
        if ev.payload.get("by_staff"):
            answered, since = True, None
        elif answered and since is None:
            since = ev.at
    return since


class SlaReactor:
    """The reactor the lead wires into the bus (after `notify`); `by_desk`: the policies
    of each desk that has its own (config/sla.py).

    It also sets a ticket's deadlines while the ticket is being opened (`opening`, before
    its row is written): the row is then written once, and the reaction to `TicketOpened`
    finds nothing to change, where it would otherwise rewrite the row just inserted."""

    def __init__(self, policies: SlaPolicies,
                 by_desk: Mapping[str, SlaPolicies] | None = None) -> None:
        self._policies = policies
        self._by_desk = by_desk

    def _chosen(self, ticket: Ticket) -> SlaPolicies:
        if not self._by_desk:
            return self._policies
        return self._by_desk.get(ticket.desk or "", self._policies)

    async def opening(self, ctx: Context, ticket: Ticket) -> None:
        await recompute(ctx, ticket, self._chosen(ticket), new_ticket=True)

    async def __call__(self, ctx: Context, event_id: int, event: e.Event) -> None:
        if event.kind not in RECOMPUTE_ON:
            return
        ticket = await ctx.uow.tickets.get(event.ticket)
        opened = event.kind == e.TicketOpened.kind
        if ticket is not None and await recompute(ctx, ticket, self._chosen(ticket), opened):
            await ctx.uow.tickets.save(ticket)
            log.debug("#%s sla %s first response due %s, resolution due %s", ticket.number,
                      ticket.sla_policy, ticket.first_response_due, ticket.resolution_due)


def sla_reactor(policies: SlaPolicies,
                by_desk: Mapping[str, SlaPolicies] | None = None) -> SlaReactor:
    return SlaReactor(policies, by_desk)
