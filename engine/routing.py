"""F12 routing: ordered rules from the config; the first whose every condition holds decides
who is responsible, who observes, the type, priority, tags and the desk of a new ticket.

The matching is pure (`Facts` in, the first matching `RoutingRule` out) so it is tested
without a store; `route` gathers the facts of a ticket being opened and carries out the
decision. Each decision is logged and becomes a `TicketRouted` event, so the ticket's
history says "assigned to Sam by rule 'acme-manager'".

With no rule matching, a ticket of a company with a manager goes to that manager (what
the service did before rules existed). The desk is the rule's, else the desk of the
mailbox the mail came to, else the desk of the staff chat, else the default desk.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property

from engine import events as e
from engine.chatrefs import parse_ref
from engine.desks import Desks
from engine.model import Ticket
from engine.ports import UnitOfWork

log = logging.getLogger("ticketbot.routing")


class ManagerOf(StrEnum):
    """Whose manager a rule makes responsible."""

    COMPANY = "company"
    CONTACT = "contact"
    OBJECT = "object"


def normal(text: str) -> str:
    """Case-insensitive and ё-insensitive, for subjects and keywords in either language."""
    return text.casefold().replace("ё", "е")


def bare_address(address: str) -> str:
    """`Billing+x@Acme.example` -> `billing@acme.example`: the mailbox a `+tag` reaches."""
    local, _, domain = address.strip().lower().partition("@")
    return f"{local.partition('+')[0]}@{domain}"


@dataclass(frozen=True)
class Facts:
    """What rules look at, gathered once per ticket."""

    subject: str = ""
    type: str = ""
    tags: frozenset[str] = frozenset()
    mailbox: str | None = None  # the address the mail was delivered to (bare)
    chat_id: int | None = None  # the chat the ticket was asked in
    company: str | None = None  # the requester's company's name
    contact: tuple[str, ...] = ()  # the requester's addresses
    object_id: int | None = None  # the service object (F11), when the directory has one

    @cached_property
    def keyword_text(self) -> str:
        """The subject as keywords are compared with, made once for all the rules."""
        return normal(self.subject)


@dataclass(frozen=True)
class Conditions:
    """Every non-empty condition must hold; empty means "any". Within one condition any
    listed value will do (any of the mailboxes, any of the keywords)."""

    mailboxes: frozenset[str] = frozenset()
    chats: frozenset[int] = frozenset()
    companies: frozenset[str] = frozenset()
    contacts: frozenset[str] = frozenset()
    objects: frozenset[int] = frozenset()
    types: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()  # normalised (`normal`); a substring of the subject

    def matches(self, f: Facts) -> bool:
        subject = f.keyword_text if self.keywords else ""
        return (_any_or(self.mailboxes, f.mailbox) and _any_or(self.chats, f.chat_id)
                and _any_or(self.companies, f.company)
                and (not self.contacts or any(a in self.contacts for a in f.contact))
                and _any_or(self.objects, f.object_id) and _any_or(self.types, f.type)
                and (not self.tags or bool(self.tags & f.tags))
                and (not self.keywords or any(k in subject for k in self.keywords)))


def _any_or(allowed: frozenset[str] | frozenset[int], value: object) -> bool:
    return not allowed or value in allowed


@dataclass(frozen=True)
class Actions:
    """What a matching rule sets. `responsible` is a staff member's address or None;
    `manager_of` instead names whose manager is made responsible."""

    responsible: str | None = None
    manager_of: ManagerOf | None = None
    observers: tuple[str, ...] = ()
    type: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    desk: str | None = None


@dataclass(frozen=True)
class RoutingRule:
    name: str
    when: Conditions = Conditions()
    then: Actions = Actions()


# Deadlines by priority, in business minutes, when no `[[sla.policies]]` set them:
# Ticket24's high 1 day, normal ("medium") 3, low 5 (a day is 9 business hours); urgent,
# which Ticket24 lacks, half a day: 4 hours, so it always comes before high.
DEFAULT_DEADLINES: tuple[tuple[str, int], ...] = (
    ("urgent", 240), ("high", 540), ("normal", 1620), ("low", 2700))


@dataclass(frozen=True)
class Routing:
    """The rules in config order, and the deadline of each priority."""

    rules: tuple[RoutingRule, ...] = ()
    deadlines: tuple[tuple[str, int], ...] = DEFAULT_DEADLINES

    def first_match(self, facts: Facts) -> RoutingRule | None:
        return next((r for r in self.rules if r.when.matches(facts)), None)


@dataclass(frozen=True)
class Decision:
    """What routing did to a ticket being opened: the rule (None: no rule matched) and
    each field it set (None or empty: left as it was)."""

    rule: str | None
    desk: str | None = None
    responsible_id: int | None = None
    observers: tuple[int, ...] = ()
    type: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()


async def manager_of(uow: UnitOfWork, kind: ManagerOf, id: int | None) -> int | None:
    """The manager of a company, contact or service object: the one place routing asks
    (the directory, F11, keeps contacts' and objects' managers)."""
    if id is None:
        return None
    if kind is ManagerOf.COMPANY:
        company = await uow.people.company(id)
        return None if company is None else company.manager_id
    return await uow.directory.manager_of(_DIRECTORY[kind], id)


# ManagerOf -> the directory's name of the entries (engine/directory_store.py).
_DIRECTORY = {ManagerOf.CONTACT: "contacts", ManagerOf.OBJECT: "objects"}


async def facts_of(uow: UnitOfWork, ticket: Ticket, mailbox: str | None) -> Facts:
    company = None if ticket.company_id is None else await uow.people.company(ticket.company_id)
    requester = None if ticket.requester_id is None else \
        await uow.people.get(ticket.requester_id)
    source = parse_ref(ticket.source_ref)
    return Facts(subject=ticket.subject, type=ticket.type, tags=frozenset(ticket.tags),
                 mailbox=None if mailbox is None else bare_address(mailbox),
                 chat_id=None if source is None else source.chat_id,
                 company=None if company is None else company.name,
                 contact=() if requester is None else requester.emails,
                 object_id=ticket.object_id)


async def route(uow: UnitOfWork, routing: Routing, desks: Desks, ticket: Ticket,
                mailbox: str | None) -> Decision:
    """Apply the first matching rule (and the desk and manager fallbacks) to `ticket`,
    which is being opened and not stored yet."""
    if not routing.rules and not desks.desks:  # nothing configured: only the manager
        ticket.responsible_id = ticket.responsible_id or \
            await manager_of(uow, ManagerOf.COMPANY, ticket.company_id)
        return Decision(rule=None)
    facts = await facts_of(uow, ticket, mailbox)
    rule = routing.first_match(facts)
    decision = Decision(rule=None) if rule is None else await _apply(uow, rule, ticket)
    decision = replace(decision, desk=decision.desk or _desk_of(desks, facts))
    ticket.desk = decision.desk
    if ticket.responsible_id is None:
        ticket.responsible_id = await manager_of(uow, ManagerOf.COMPANY, ticket.company_id)
    if rule is not None:
        log.info("#%s routed by rule %r: %s", ticket.number, rule.name, decision)
    return decision


def _desk_of(desks: Desks, facts: Facts) -> str | None:
    found = desks.by_address(facts.mailbox) or desks.by_chat(facts.chat_id)
    return found.name if found is not None else desks.default


async def _apply(uow: UnitOfWork, rule: RoutingRule, ticket: Ticket) -> Decision:
    then = rule.then
    responsible = None
    if ticket.responsible_id is None:  # one given by the command (a `/ticket`) stands
        responsible = await _responsible(uow, then, ticket)
        ticket.responsible_id = responsible
    observers = []
    for address in then.observers:
        person = await uow.people.by_email(address)
        if person is not None and person.id not in ticket.observers:
            ticket.observers.add(person.id)
            observers.append(person.id)
    tags = tuple(tag for tag in then.tags if tag not in ticket.tags)
    ticket.tags.update(tags)
    changed_type = then.type if then.type is not None and then.type != ticket.type else None
    changed_priority = then.priority if then.priority is not None and \
        then.priority != ticket.priority else None
    ticket.type = then.type or ticket.type
    ticket.priority = then.priority or ticket.priority
    return Decision(rule=rule.name, desk=then.desk, responsible_id=responsible,
                    observers=tuple(observers), type=changed_type, priority=changed_priority,
                    tags=tags)


async def _responsible(uow: UnitOfWork, then: Actions, ticket: Ticket) -> int | None:
    if then.manager_of is not None:
        about = {ManagerOf.COMPANY: ticket.company_id, ManagerOf.CONTACT: ticket.requester_id,
                 ManagerOf.OBJECT: ticket.object_id}[then.manager_of]
        return await manager_of(uow, then.manager_of, about)
    if then.responsible is None:
        return None
    person = await uow.people.by_email(then.responsible)
    if person is None or not person.role.is_staff:
        log.warning("routing: %s is not a staff member; nobody made responsible",
                    then.responsible)
        return None
    return person.id


def routed(ticket: Ticket, decision: Decision, actor: int | None, at: dt.datetime,
           channel: str) -> e.TicketRouted | None:
    """The history entry of a rule's decision (None when no rule matched)."""
    if decision.rule is None:
        return None
    return e.TicketRouted(ticket=ticket.number, actor=actor, at=at, channel=channel,
                          rule=decision.rule, desk=decision.desk,
                          responsible_id=decision.responsible_id,
                          observers=decision.observers, type=decision.type,
                          priority=decision.priority, tags=decision.tags)
