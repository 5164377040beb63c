"""The ordered threading rules, on fakes of the engine's ports: each rule, its order, the
participant gate on subject tags, closed tickets, and the django-helpdesk failures; then the
one rule for a message to a finished ticket, for mail and chat alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.channels.email.understand.identity import MailIdentity
from bot.channels.telegram.understand.refs import ref
from bot.threading.rules import (
    CHAT,
    MAIL,
    RULES,
    Channel,
    Facts,
    Thread,
    ThreadContext,
    resolve,
    tag_number,
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
TAG = tag_pattern("[#{number}]")
REOPEN_DAYS = 7


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


async def decide(store: Store, facts: Facts, channel: Channel) -> Thread | None:
    async with FakeUnitOfWork(store) as uow:
        ctx = ThreadContext(uow, REOPEN_DAYS, ref_token=ID.ref_ticket,
                            address_token=ID.address_ticket)
        return await resolve(facts, ctx, channel)


async def thread(store: Store, sender: Person = CARL, subject: str = "Printer",
                 refs: tuple[str, ...] = (), addresses: tuple[str, ...] = ()) -> Thread:
    """A mail: the facts process.py reads from its headers."""
    facts = Facts(sender=sender, at=NOW, address=sender.emails[0],
                  named=tag_number(TAG, subject), refs=refs, addresses=addresses)
    found = await decide(store, facts, MAIL)
    assert found is not None  # mail always decides: at worst, a new ticket
    return found


def test_the_rules_are_an_explicit_ordered_list() -> None:
    assert [r.name for r in RULES] == ["own_message_id", "message_id", "token", "subject_tag",
                                      "new"]


async def test_nothing_known_is_a_new_ticket(store: Store) -> None:
    assert await thread(store) == Thread(None, "new")


async def test_in_reply_to_our_own_ack_wins_over_an_edited_subject(store: Store) -> None:
    found = await thread(store, subject="completely different", refs=(ID.message_id(7, 1, 1),))
    assert found == Thread(1, "own_message_id", trusted=True)


async def test_references_alone_are_enough(store: Store) -> None:
    refs = ("<unknown@else>", "<client-root@acme.example>")
    assert await thread(store, subject="new words", refs=refs) == Thread(1, "message_id")


async def test_our_signed_message_id_threads_even_if_never_recorded(store: Store) -> None:
    unrecorded = ID.message_id(99, 1, 1)
    assert await thread(store, refs=(unrecorded,)) == Thread(1, "own_message_id", trusted=True)


async def test_a_forged_token_is_no_token(store: Store) -> None:
    forged = ID.message_id(99, 1, 1).replace("-1-", "-1-0", 1)
    assert await thread(store, refs=(forged,)) == Thread(None, "new")


async def test_plus_address_token_threads(store: Store) -> None:
    found = await thread(store, subject="hi", addresses=(ID.reply_to(1, 1),))
    assert found == Thread(1, "token", trusted=True)


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


# ------------------------------------------------------------------ chat

GROUP = -100
CARD = ref(GROUP, 50)  # the card of ticket 1 in the support group


async def chat(store: Store, sender: Person = CARL, *, named: int | None = None,
               replied: str | None = None) -> Thread | None:
    """A chat message: a leading `#N`, and the ref of the message it replies to."""
    facts = Facts(sender=sender, at=NOW, named=named,
                  refs=() if replied is None else (replied,))
    return await decide(store, facts, CHAT)


async def test_chat_a_reply_to_a_tickets_message_is_about_that_ticket(store: Store) -> None:
    store.refs[CARD] = 1
    assert await chat(store, replied=CARD) == Thread(1, "message_id")


async def test_chat_a_leading_number_wins_over_the_reply(store: Store) -> None:
    store.refs[CARD] = 1
    store.tickets[3] = ticket(3)
    assert await chat(store, named=3, replied=CARD) == Thread(3, "number")


async def test_chat_about_no_ticket_is_for_the_first_line(store: Store) -> None:
    assert await chat(store) is None
    assert await chat(store, replied=ref(GROUP, 99)) is None


async def test_chat_a_missing_number_is_left_to_the_engine_to_refuse(store: Store) -> None:
    """The person named it: they are told that #404 does not exist, not given a ticket."""
    assert await chat(store, named=404) == Thread(404, "number")


async def test_chat_has_no_sender_gate(store: Store) -> None:
    """Telegram says who wrote; the engine refuses a ticket they may not see."""
    store.refs[CARD] = 1
    assert await chat(store, MALLORY, replied=CARD) == Thread(1, "message_id")


# ------------------------------------------------------------------ a finished ticket

COMMENT, FOLLOW_UP = "comment", "follow-up"


def finished_ticket(status: Status, days_ago: float) -> Ticket:
    """Ticket 1, finished (or last touched) `days_ago`; the clock of the rule is the
    message's own time, NOW."""
    when = NOW - dt.timedelta(days=days_ago)
    stamps = {Status.RESOLVED: {"resolved_at": when},
              Status.CLOSED: {"resolved_at": when, "closed_at": when}}.get(status, {})
    return replace(ticket(1, status, **stamps), created_at=when - dt.timedelta(days=1),
                   updated_at=when)


async def the_decision(store: Store, channel: str, sender: Person) -> Thread | None:
    """The same message in each channel: mail replying to the ack, chat replying to the card."""
    if channel == "mail":
        store.refs["<ack@help.example.com>"] = 1
        return await thread(store, sender, refs=("<ack@help.example.com>",))
    store.refs[CARD] = 1
    return await chat(store, sender, replied=CARD)


CASES = [
    # status, days since finished, who writes -> what happens
    (Status.OPEN, 30, CARL, COMMENT),
    (Status.WAITING, 30, CARL, COMMENT),  # the engine reopens it (F2)
    (Status.RESOLVED, 0, CARL, COMMENT),  # the engine reopens it (F2)
    (Status.RESOLVED, REOPEN_DAYS, CARL, COMMENT),  # the last day still counts
    (Status.RESOLVED, REOPEN_DAYS + 0.01, CARL, FOLLOW_UP),
    (Status.RESOLVED, 30, CARL, FOLLOW_UP),
    (Status.RESOLVED, 30, DORA, FOLLOW_UP),  # the requester's side: a colleague too
    (Status.CLOSED, 0, CARL, FOLLOW_UP),  # closed is final (F2)
    (Status.CLOSED, 30, CARL, FOLLOW_UP),
    (Status.RESOLVED, 0, SAM, COMMENT),  # staff never open a follow-up
    (Status.RESOLVED, 30, SAM, COMMENT),
    (Status.CLOSED, 0, SAM, COMMENT),
    (Status.CLOSED, 30, SAM, COMMENT),
]


@pytest.mark.parametrize("channel", ["mail", "chat"])
@pytest.mark.parametrize(("status", "days", "sender", "expected"), CASES)
async def test_one_rule_for_a_message_to_a_finished_ticket(
        store: Store, channel: str, status: Status, days: float, sender: Person,
        expected: str) -> None:
    store.tickets[1] = finished_ticket(status, days)
    found = await the_decision(store, channel, sender)
    assert found is not None
    if expected == COMMENT:
        assert (found.ticket, found.linked_to) == (1, None)
    else:
        assert (found.ticket, found.linked_to) == (None, 1)
        assert found.rule == f"message_id_{status}"


async def test_a_follow_up_named_by_number_links_the_old_ticket(store: Store) -> None:
    store.tickets[1] = finished_ticket(Status.RESOLVED, 30)
    assert await chat(store, named=1) == Thread(None, "number_resolved", linked_to=1)
    assert await thread(store, subject="Re: [#1] Printer") == \
        Thread(None, "subject_tag_resolved", linked_to=1)


async def test_the_age_counts_from_the_resolve_not_a_later_note(store: Store) -> None:
    """A staff note on a resolved ticket bumps `updated_at`; the reopen window stays."""
    old = finished_ticket(Status.RESOLVED, 30)
    store.tickets[1] = replace(old, updated_at=NOW - dt.timedelta(hours=1))
    assert (await thread(store, refs=("<client-root@acme.example>",))).linked_to == 1


async def test_the_window_is_the_configured_one(store: Store) -> None:
    store.tickets[1] = finished_ticket(Status.RESOLVED, 20)
    facts = Facts(sender=CARL, at=NOW, refs=("<client-root@acme.example>",))
    async with FakeUnitOfWork(store) as uow:
        assert await resolve(facts, ThreadContext(uow, 30), MAIL) == Thread(1, "message_id")
        assert await resolve(facts, ThreadContext(uow, 0), MAIL) == \
            Thread(None, "message_id_resolved", linked_to=1)
