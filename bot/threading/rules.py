"""Which ticket a message is about, for mail and chat: an explicit, ordered list of rules.

The order is the design (feature-anchors §4 item 3). Mail: our own (signed) Message-IDs,
then the other message ids we know (inbound AND outbound, so a reply to our own
acknowledgement threads even with an edited subject, and References alone are enough),
then a signed token, then the `[#N]` subject tag but only from someone who takes part in
ticket N or a colleague of its requester, then a new ticket. Chat: a leading `#N`,
then the ticket of the replied-to message, else the message is about no ticket.

A match then passes one gate for both channels: a message to a finished ticket either
comments (the engine may reopen it) or opens a new ticket linked to it (finished.py).
Mail also gates on the sender: a match on a ticket the sender has no part in (a forwarded
thread answered by an outsider) opens a linked ticket too, except a match on something we
signed (our Message-IDs, our `support+token@` Reply-To): its signature cannot be guessed,
so the sender saw our mail. A colleague (same organisation domain as the requester, not a
free-mail provider) takes part; they and a trusted sender join the ticket as observers. Chat needs no such gate: the
person is who Telegram says, and the engine refuses a ticket they may not see.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from bot.threading.finished import follow_up
from engine.access import can_view
from engine.merge import merged_ref
from engine.model import Person, Status, Ticket
from engine.views import RefReader, TicketReader

log = logging.getLogger("ticketbot.threading")

# Long References chains are cut: the newest ids are the ones that matter.
MAX_REFS = 30


@dataclass(frozen=True)
class Facts:
    """What threading looks at, whatever the channel. `refs` come newest first (mail:
    In-Reply-To, then References from the end; chat: the replied-to message); `named` is
    the number the message names (mail: the subject tag; chat: a leading `#N`);
    `address` is the sender's mail address and `addresses` the recipients, lower-case."""

    sender: Person
    at: dt.datetime
    address: str = ""
    named: int | None = None
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
    # Matched on something we signed: the sender saw our mail, whoever they are.
    trusted: bool = False


TokenReader = Callable[[str], int | None]
# Whether the mail address is a colleague of the ticket's requester (the mail channel's).
ColleagueCheck = Callable[[str, Ticket], Awaitable[bool]]


def no_token(text: str) -> int | None:
    return None


async def no_colleague(address: str, ticket: Ticket) -> bool:
    return False


class Records(Protocol):
    """What the rules read: a unit of work, or a read-only view."""

    @property
    def tickets(self) -> TicketReader: ...

    @property
    def refs(self) -> RefReader: ...


@dataclass(frozen=True)
class ThreadContext:
    records: Records
    reopen_days: int  # settings.reopen_days
    ref_token: TokenReader = no_token
    address_token: TokenReader = no_token
    colleague: ColleagueCheck = no_colleague


class Rule(Protocol):
    name: str

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None: ...


@dataclass(frozen=True)
class Channel:
    """A channel's rules, and whether a match must also pass the sender gate."""

    rules: tuple[Rule, ...]
    check_sender: bool = True


def tag_pattern(subject_tag: str) -> re.Pattern[str]:
    """`[#{number}]` -> a pattern that also forgives spaces inside the brackets."""
    escaped = re.escape(subject_tag).replace(r"\{number\}", r"\s*(\d{1,9})\s*")
    escaped = escaped.replace(r"\ ", r"\s*")
    return re.compile(escaped, re.IGNORECASE)


def tag_number(tag: re.Pattern[str], subject: str) -> int | None:
    m = tag.search(subject)
    return None if m is None else int(m.group(1))


def takes_part(person: Person, address: str, ticket: Ticket) -> bool:
    """Requester, responsible, creator, observer, CC, same company, or staff."""
    same_company = person.company_id is not None and person.company_id == ticket.company_id
    return (person.role.is_staff or ticket.involves(person.id) or same_company
            or address.lower() in (a.lower() for a in ticket.cc))


async def belongs(facts: Facts, ticket: Ticket, ctx: ThreadContext) -> bool:
    """The sender takes part in the ticket, or is a colleague of its requester; nobody
    outside the staff takes part in an internal ticket (seed 003)."""
    if ticket.internal and not facts.sender.role.is_staff:
        return False
    return takes_part(facts.sender, facts.address, ticket) or \
        await ctx.colleague(facts.address, ticket)


class ByOwnIds:
    """In-Reply-To / References naming one of our own Message-IDs (signed, so unguessable):
    the sender saw our mail, so it threads whoever they are."""

    name = "own_message_id"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        own = tuple(r for r in facts.refs[:MAX_REFS] if ctx.ref_token(r) is not None)
        number = await ctx.records.refs.find(own) if own else None
        for ticket in (number, *map(ctx.ref_token, own)):
            if ticket is not None and await ctx.records.tickets.get(ticket) is not None:
                return Thread(ticket, self.name, trusted=True)
        return None


class ByKnownIds:
    """In-Reply-To / References (or a chat reply) against every message id we know, in
    and out."""

    name = "message_id"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        # One query for all of them; `find` keeps their order, nearest reply first.
        number = await ctx.records.refs.find(facts.refs[:MAX_REFS])
        return None if number is None else Thread(number, self.name)


class ByToken:
    """A signed token in a `support+token@` recipient (our Reply-To): trusted like our
    Message-IDs."""

    name = "token"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        for number in map(ctx.address_token, facts.addresses):
            if number is not None and await ctx.records.tickets.get(number) is not None:
                return Thread(number, self.name, trusted=True)
        return None


class BySubjectTag:
    """`[#N]` in the subject, trusted only from someone who takes part in N or a colleague
    of its requester; an outsider's tag opens a new ticket that links N ("possible
    follow-up")."""

    name = "subject_tag"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        if facts.named is None:
            return None
        ticket = await ctx.records.tickets.get(facts.named)
        if ticket is None:
            return None
        if await belongs(facts, ticket, ctx):
            return Thread(ticket.number, self.name)
        return Thread(None, "subject_tag_stranger", linked_to=ticket.number)


class ByNumber:
    """A leading `#N` in chat: the person said which ticket; the engine answers when N
    does not exist or is not theirs to see."""

    name = "number"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        return None if facts.named is None else Thread(facts.named, self.name)


class NewTicket:
    """Nothing matched."""

    name = "new"

    async def match(self, facts: Facts, ctx: ThreadContext) -> Thread | None:
        return Thread(None, self.name)


RULES: tuple[Rule, ...] = (ByOwnIds(), ByKnownIds(), ByToken(), BySubjectTag(), NewTicket())
MAIL = Channel(RULES, check_sender=True)
# No "new" at the end: a chat message about no ticket goes to the first line.
CHAT = Channel((ByNumber(), ByKnownIds()), check_sender=False)


async def resolve(facts: Facts, ctx: ThreadContext, channel: Channel = MAIL) -> Thread | None:
    """The decision for one message; None when it is about no ticket (chat only)."""
    for rule in channel.rules:
        found = await rule.match(facts, ctx)
        if found is not None:
            thread = await _gate(found, facts, ctx, channel.check_sender)
            log.info("threading: rule %s -> ticket %s (linked %s)", thread.rule,
                     thread.ticket, thread.linked_to)
            return thread
    return None


async def _gate(thread: Thread, facts: Facts, ctx: ThreadContext, check_sender: bool) -> Thread:
    """A requester's match on a closed or long finished ticket, or (mail) on a ticket the
    sender has no part in (unless the match was on something we signed), becomes a new
    ticket linking it; a CC'd client's or a colleague's first mail reply makes them an
    observer."""
    if thread.ticket is None:
        return thread
    ticket = await ctx.records.tickets.get(thread.ticket)
    if ticket is None:
        # Mail starts afresh; chat lets the engine say that the named ticket is missing.
        return Thread(None, "new") if check_sender else thread
    joined = await _joined(ticket, ctx)
    if joined.number != ticket.number:
        ticket, thread = joined, replace(thread, ticket=joined.number,
                                         rule=f"{thread.rule}_merged")
    if follow_up(ticket, facts.sender, facts.at, ctx.reopen_days):
        return Thread(None, f"{thread.rule}_{ticket.status}", linked_to=ticket.number)
    if not check_sender:
        return thread
    if not thread.trusted and not await belongs(facts, ticket, ctx):
        return Thread(None, f"{thread.rule}_stranger", linked_to=ticket.number)
    observe = not facts.sender.role.is_staff and not can_view(facts.sender, ticket)
    return replace(thread, observe=observe)


# Merges of merged tickets are followed this far (a loop cannot form: the target of a merge
# is never closed, and a closed ticket is never merged again).
_MERGE_HOPS = 5


async def _joined(ticket: Ticket, ctx: ThreadContext) -> Ticket:
    """A ticket merged into another (engine/merge.py) stands for the ticket it joined: a
    subject tag or `#M` of a merged ticket threads into N like its message ids do."""
    for _ in range(_MERGE_HOPS):
        if ticket.status is not Status.CLOSED:
            return ticket
        number = await ctx.records.refs.find([merged_ref(ticket.number)])
        joined = None if number is None else await ctx.records.tickets.get(number)
        if joined is None:
            return ticket
        ticket = joined
    return ticket
