"""The ordered threading rules, on fakes of the engine's ports: each rule, its order, the
participant gate on subject tags, closed tickets, and the django-helpdesk failures."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.channels.email.identity import MailIdentity
from bot.threading.rules import (
    RULES,
    Facts,
    Thread,
    ThreadContext,
    resolve,
    tag_pattern,
    takes_part,
)
from engine.model import Person, Role, Status, Ticket
from tests.fakes import FakeUnitOfWork, Store

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
ID = MailIdentity("support@help.example.com", b"k")
CARL = Person(1, "Carl", Role.CLIENT, ("carl@acme.example",), company_id=10)
DORA = Person(2, "Dora", Role.CLIENT, ("dora@acme.example",), company_id=10)
MALLORY = Person(3, "Mallory", Role.CLIENT, ("m@evil.example",))
SAM = Person(4, "Sam", Role.SPECIALIST, ("sam@staff.example",))
BOSS = Person(5, "Boss", Role.CLIENT, ("boss@partner.example",))


def ticket(number: int, status: Status = Status.OPEN, **kw: object) -> Ticket:
    return Ticket(number=number, subject="Printer", description="jams", status=status,
                  created_at=NOW, updated_at=NOW, channel="email", requester_id=CARL.id,
                  company_id=10, **kw)  # type: ignore[arg-type]


@pytest.fixture
def store() -> Store:
    return Store(tickets={1: ticket(1), 2: ticket(2, Status.CLOSED)},
                 people={p.id: p for p in (CARL, DORA, MALLORY, SAM, BOSS)},
                 refs={"<client-root@acme.example>": 1, ID.message_id(7, 1, 1): 1,
                       "<closed-root@acme.example>": 2})


async def thread(store: Store, sender: Person = CARL, subject: str = "Printer",
                 refs: tuple[str, ...] = (), addresses: tuple[str, ...] = ()) -> Thread:
    async with FakeUnitOfWork(store) as uow:
        ctx = ThreadContext(uow, ID.ref_ticket, ID.address_ticket, tag_pattern("[#{number}]"))
        facts = Facts(sender=sender, address=sender.emails[0], subject=subject, refs=refs,
                      addresses=addresses)
        return await resolve(facts, ctx)


def test_the_rules_are_an_explicit_ordered_list() -> None:
    assert [r.name for r in RULES] == ["message_id", "token", "subject_tag", "new"]


async def test_nothing_known_is_a_new_ticket(store: Store) -> None:
    assert await thread(store) == Thread(None, "new")


async def test_in_reply_to_our_own_ack_wins_over_an_edited_subject(store: Store) -> None:
    found = await thread(store, subject="completely different", refs=(ID.message_id(7, 1, 1),))
    assert found == Thread(1, "message_id")


async def test_references_alone_are_enough(store: Store) -> None:
    refs = ("<unknown@else>", "<client-root@acme.example>")
    assert await thread(store, subject="new words", refs=refs) == Thread(1, "message_id")


async def test_our_signed_message_id_threads_even_if_never_recorded(store: Store) -> None:
    unrecorded = ID.message_id(99, 1, 1)
    assert await thread(store, refs=(unrecorded,)) == Thread(1, "token")


async def test_a_forged_token_is_no_token(store: Store) -> None:
    forged = ID.message_id(99, 1, 1).replace("-1-", "-1-0", 1)
    assert await thread(store, refs=(forged,)) == Thread(None, "new")


async def test_plus_address_token_threads(store: Store) -> None:
    found = await thread(store, subject="hi", addresses=(ID.reply_to(1, 1),))
    assert found == Thread(1, "token")


async def test_subject_tag_from_the_requester(store: Store) -> None:
    assert await thread(store, subject="Re: [#1] Printer") == Thread(1, "subject_tag")


async def test_subject_tag_from_a_colleague_of_the_same_company(store: Store) -> None:
    assert await thread(store, DORA, "Re: [#1] Printer") == Thread(1, "subject_tag")


async def test_subject_tag_from_staff(store: Store) -> None:
    found = await thread(store, SAM, "Re: [# 1 ] Printer")
    assert (found.ticket, found.rule) == (1, "subject_tag")


async def test_subject_tag_from_a_stranger_opens_a_new_linked_ticket(store: Store) -> None:
    found = await thread(store, MALLORY, "Re: [#1] Printer")
    assert found == Thread(None, "subject_tag_stranger", linked_to=1)


async def test_subject_tag_of_a_missing_ticket_is_a_new_ticket(store: Store) -> None:
    assert await thread(store, subject="[#404] hello") == Thread(None, "new")


async def test_a_reply_to_a_closed_ticket_opens_a_new_linked_one(store: Store) -> None:
    found = await thread(store, refs=("<closed-root@acme.example>",))
    assert found == Thread(None, "message_id_closed", linked_to=2)


async def test_a_stranger_answering_a_known_thread_gets_a_linked_ticket(store: Store) -> None:
    found = await thread(store, MALLORY, refs=("<client-root@acme.example>",))
    assert found == Thread(None, "message_id_stranger", linked_to=1)


async def test_a_ccd_address_replying_becomes_an_observer(store: Store) -> None:
    store.tickets[1] = ticket(1, cc=("boss@partner.example",))
    found = await thread(store, BOSS, refs=("<client-root@acme.example>",))
    assert found == Thread(1, "message_id", observe=True)


async def test_in_reply_to_comes_before_older_references(store: Store) -> None:
    """Refs are newest first: a follow-up ticket's thread still carries the old ids."""
    store.refs["<followup@acme.example>"] = 1
    found = await thread(store, refs=("<followup@acme.example>", "<closed-root@acme.example>"))
    assert found == Thread(1, "message_id")


def test_takes_part() -> None:
    t = ticket(1, observers={BOSS.id})
    assert takes_part(CARL, "carl@acme.example", t)
    assert takes_part(BOSS, "boss@partner.example", t)
    assert takes_part(SAM, "sam@staff.example", t)
    assert not takes_part(MALLORY, "m@evil.example", t)


def test_tag_pattern_follows_the_configured_format() -> None:
    pattern = tag_pattern("Ticket#{number}:")
    m = pattern.search("Re: ticket#42: printer")
    assert m is not None and m.group(1) == "42"
    assert tag_pattern("[#{number}]").search("[#x] no") is None
