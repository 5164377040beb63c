"""Which ticket a message belongs to: an explicit, ordered list of small rules.

The order is the design (feature-anchors §4 item 3): message ids we know (inbound AND
outbound, so a reply to our own acknowledgement threads even with an edited subject, and
References alone are enough), then a signed token, then the `[#N]` subject tag but only
from someone who takes part in ticket N, then a new ticket. A reply that lands on a
`closed` ticket opens a new ticket linked to it (F2); so does a match on a ticket the
sender has no part in (a forwarded thread answered by an outsider).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from engine.access import can_view
from engine.model import Person, Status, Ticket
from engine.ports import UnitOfWork

log = logging.getLogger("ticketbot.threading")

# Long References chains are cut: the newest ids are the ones that matter.
MAX_REFS = 30


@dataclass(frozen=True)
class Facts:
    """What threading looks at. `refs` come newest first (In-Reply-To, then References
    from the end); `addresses` are the recipient addresses, lower-case."""

    sender: Person
    address: str
    subject: str
    refs: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Thread:
    """The decision: add to `ticket`, or open a new ticket (ticket None) linking `linked_to`.
    `observe` asks to add the sender as an observer first (a CC'd person's first reply)."""

    ticket: int | None
    rule: str
    linked_to: int | None = None
    observe: bool = False


TokenReader = Callable[[str], int | None]


@dataclass(frozen=True)
class ThreadContext:
    uow: UnitOfWork
    ref_token: TokenReader
    address_token: TokenReader
    tag: re.Pattern[str]


class Rule(Protocol):
    name: str

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None: ...


def tag_pattern(subject_tag: str) -> re.Pattern[str]:
    """`[#{number}]` -> a pattern that also forgives spaces inside the brackets."""
    escaped = re.escape(subject_tag).replace(r"\{number\}", r"\s*(\d{1,9})\s*")
    escaped = escaped.replace(r"\ ", r"\s*")
    return re.compile(escaped, re.IGNORECASE)


def takes_part(person: Person, address: str, ticket: Ticket) -> bool:
    """Requester, responsible, creator, observer, CC, same company, or staff."""
    same_company = person.company_id is not None and person.company_id == ticket.company_id
    return (person.role.is_staff or ticket.involves(person.id) or same_company
            or address.lower() in (a.lower() for a in ticket.cc))


class ByKnownIds:
    """1. In-Reply-To / References against every message id we know, in and out."""

    name = "message_id"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        # One query for all of them; `find` keeps their order, nearest reply first.
        number = await ctx.uow.refs.find(facts.refs[:MAX_REFS])
        return None if number is None else Thread(number, self.name)


class ByToken:
    """2. A signed token: in a `support+token@` recipient or in one of our Message-IDs
    (for a reply whose id we never recorded, e.g. after a database restore)."""

    name = "token"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        found = [ctx.address_token(a) for a in facts.addresses]
        found += [ctx.ref_token(r) for r in facts.refs[:MAX_REFS]]
        for number in found:
            if number is not None and await ctx.uow.tickets.get(number) is not None:
                return Thread(number, self.name)
        return None


class BySubjectTag:
    """3. `[#N]` in the subject, trusted only from someone who takes part in N; an
    outsider's tag opens a new ticket that links N ("possible follow-up")."""

    name = "subject_tag"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        m = ctx.tag.search(facts.subject)
        if m is None:
            return None
        ticket = await ctx.uow.tickets.get(int(m.group(1)))
        if ticket is None:
            return None
        if takes_part(facts.sender, facts.address, ticket):
            return Thread(ticket.number, self.name)
        return Thread(None, "subject_tag_stranger", linked_to=ticket.number)


class NewTicket:
    """4. Nothing matched."""

    name = "new"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        return Thread(None, self.name)


RULES: tuple[Rule, ...] = (ByKnownIds(), ByToken(), BySubjectTag(), NewTicket())


async def resolve(facts: Facts, ctx: ThreadContext, rules: Sequence[Rule] = RULES) -> Thread:
    for rule in rules:
        found = await rule.match(facts, ctx)
        if found is not None:
            thread = await _gate(found, facts, ctx)
            log.info("threading: rule %s -> ticket %s (linked %s)", thread.rule,
                     thread.ticket, thread.linked_to)
            return thread
    raise LookupError("the rule list must end with a rule that always matches")


async def _gate(thread: Thread, facts: Facts, ctx: ThreadContext) -> Thread:
    """A match on a closed ticket, or on a ticket the sender has no part in, becomes a
    new ticket linking it; a CC'd client's first reply makes them an observer."""
    if thread.ticket is None:
        return thread
    ticket = await ctx.uow.tickets.get(thread.ticket)
    if ticket is None:
        return Thread(None, "new")
    if ticket.status is Status.CLOSED:
        return Thread(None, f"{thread.rule}_closed", linked_to=ticket.number)
    if not takes_part(facts.sender, facts.address, ticket):
        return Thread(None, f"{thread.rule}_stranger", linked_to=ticket.number)
    observe = not facts.sender.role.is_staff and not can_view(facts.sender, ticket)
    return replace(thread, observe=observe)
