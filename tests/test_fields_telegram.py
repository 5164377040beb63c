"""Issue 14 in Telegram: the ticket fields set by command in the staff chat (type, tags,
observers, copies, planned date, time spent), recorded in the history, refused with a reason,
never shown to the client; `/take` asks for what the type requires; internal tickets."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.ticket_view import render_ticket
from engine.settings import EngineSettings
from engine.store.queries import export_all, ticket_detail
from engine.ticket_types import TicketType
from tests.support_telegram import (
    ANNA,
    LENA,
    OLGA,
    SAM,
    STAFF,
    SUPPORT,
    Harness,
    ask,
    mailed_ticket,
    make_harness,
)

CARL = "carl@acme.example"
TYPES = (TicketType("question"), TicketType("incident", required=("due", "company")),
         TicketType("design", internal=True))
ENGINE = EngineSettings(types=tuple(t.name for t in TYPES), type_specs=TYPES)
# Incidents have their own, faster policy: `/type` must move a ticket onto it.
SLA = {"default_policy": "std",
       "policies": [{"name": "std", "first_response_minutes": 240, "resolution_minutes": 1440},
                    {"name": "incidents", "first_response_minutes": 30,
                     "resolution_minutes": 120}],
       "rules": [{"policy": "incidents", "types": ["incident"]}]}


@pytest.fixture
async def h(db_url: str) -> AsyncIterator[Harness]:
    async for harness in make_harness(db_url, engine=ENGINE, sla=SLA):
        harness.fake.started |= {LENA.id, SAM.id, OLGA.id}  # they pressed Start
        await harness.start()
        yield harness




async def rows(h: Harness) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await export_all(h.db))["outbound"]
    return found


async def test_fields_are_set_recorded_and_never_reach_the_client(h: Harness) -> None:
    number = await mailed_ticket(h)
    before = await h.ticket(number)
    assert (before.type, before.sla_policy) == ("question", "std")
    assert await ask(h, SAM, f"/take {number}") == f"You took ticket #{number}."
    assert await ask(h, SAM, f"/type {number} incident") == "Done."
    ticket = await h.ticket(number)
    # The SLA rule by type fires: 30 business minutes from 13:00 Moscow time.
    assert ticket.sla_policy == "incidents"
    assert ticket.first_response_due == dt.datetime(2026, 11, 23, 10, 30, tzinfo=dt.UTC)
    await ask(h, SAM, f"/tag {number} +printer #Floor2")
    await ask(h, SAM, f"/tag {number} -floor2")
    await ask(h, SAM, f"/due {number} 2026-11-30")
    await ask(h, SAM, f"/spent {number} 1h30m")
    await ask(h, OLGA, f"/spent {number} 45м")  # any specialist logs their own time
    await ask(h, SAM, f"/cc {number} Boss@Acme.example")
    ticket = await h.ticket(number)
    assert ticket.tags == {"printer"}
    assert ticket.planned_resolution == dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    assert ticket.time_spent_minutes == 135
    assert ticket.cc == ("boss@acme.example",)
    status = await ask(h, SAM, f"/status {number}")
    assert "Type: incident · Tags: printer" in status
    assert "Planned resolution: 2026-11-30 09:00" in status
    assert "Time spent: 2 h 15 min" in status
    out = await rows(h)
    # The client heard of the ticket once (the acknowledgement) and of nothing since; the
    # address put in copy is told it is, once.
    assert [o["kind"] for o in out if o["recipient"] == CARL] == ["ack"]
    assert [o["kind"] for o in out if o["recipient"] == "boss@acme.example"] == ["created_cc"]
    detail = await ticket_detail(h.db, number)
    assert detail is not None
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds[kinds.index("type"):] == ["type", "tag", "tag", "untag", "due", "spent",
                                           "spent", "cc_added"]
    shown = render_ticket(detail, {await h.person_id(SAM): "Sam Spec"}, "en", ZoneInfo("UTC"))
    assert "Sam Spec (telegram): type: question → incident" in shown
    assert "time spent: +45 min (total 2 h 15 min)" in shown
    assert "Time spent: 2 h 15 min" in shown


async def test_observers_hear_what_seed_000_gives_them(h: Harness) -> None:
    number = await mailed_ticket(h)
    await ask(h, SAM, f"/take {number}")
    assert await ask(h, OLGA, f"/observe {number}") == "Готово."
    await ask(h, SAM, f"/observe {number} @lena_lead")
    ticket = await h.ticket(number)
    assert ticket.observers == {await h.person_id(OLGA), await h.person_id(LENA)}
    # Lena was added by Sam: she is told, privately; Olga added herself and is not.
    told = await h.sent(lambda f: next((m["text"] for m in f.bot_messages(LENA.id)
                                        if "hear about changes" in m["text"]), None))
    assert f"#{number}" in told
    await h.say(SAM, f"/note {number} the fuser is worn", chat=STAFF)
    note = await h.sent(lambda f: next((m["text"] for m in f.bot_messages(OLGA.id)
                                        if "the fuser is worn" in m["text"]), None))
    assert note
    assert await ask(h, OLGA, f"/unobserve {number}") == "Готово."
    assert await h.person_id(OLGA) not in (await h.ticket(number)).observers
    await h.say(SAM, f"/note {number} ordered a new one", chat=STAFF)
    await h.sent(lambda f: any("ordered a new one" in m["text"]
                               for m in f.bot_messages(LENA.id)))
    assert not any("ordered a new one" in m["text"] for m in h.fake.bot_messages(OLGA.id))
    assert not [o for o in await rows(h) if o["recipient"] == CARL and o["kind"] != "ack"]


async def test_refusals_say_why_and_change_nothing(h: Harness) -> None:
    number = await mailed_ticket(h)
    await ask(h, SAM, f"/take {number}")
    assert await ask(h, OLGA, f"/type {number} incident") == \
        f"#{number} ведёт Sam Spec; обратитесь к руководителю или к Sam Spec."
    await h.say(ANNA, "hi")  # Anna, an employee, becomes known in the group
    assert await ask(h, ANNA, f"/due {number} tomorrow", SUPPORT) == \
        "This command is for specialists."
    assert await ask(h, SAM, f"/type {number} nosuch") == \
        "Unknown type “nosuch”. Choose one of: question, incident, design."
    assert await ask(h, SAM, f"/type {number} design") == (
        f"#{number} is a client's ticket: the internal type “design” would hide it from "
        "them. Choose one of: question, incident.")
    assert "can't read the time “an hour”" in await ask(h, SAM, f"/spent {number} an hour")
    assert await ask(h, SAM, f"/cc {number} boss") == "“boss” is not a mail address."
    assert "has already passed" in await ask(h, SAM, f"/due {number} 2026-11-01")
    await ask(h, SAM, f"/spent {number} 30m")
    assert await ask(h, SAM, f"/spent {number} -1h") == (
        f"Only 30 minutes are logged on #{number}; the time spent can't go below zero.")
    ticket = await h.ticket(number)
    assert (ticket.type, ticket.cc, ticket.planned_resolution,
            ticket.time_spent_minutes) == ("question", (), None, 30)


async def test_take_asks_for_what_the_type_requires(h: Harness) -> None:
    number = await mailed_ticket(h)
    await ask(h, LENA, f"/type {number} incident")
    assert await ask(h, OLGA, f"/take {number}") == (
        f"Вы взяли заявку #{number} в работу.\n\n"
        f"Заявка #{number} типа «incident» требует ещё данных. Укажите:\n"
        f"• плановая дата решения: /due {number} 2026-12-01\n"
        f"• компания: /company {number} НАЗВАНИЕ")
    await ask(h, OLGA, f"/due {number} +3d")
    await ask(h, LENA, f"/assign {number} @sam_spec")
    assert await ask(h, SAM, f"/take {number}") == (
        f"You took ticket #{number}.\n\n"
        f"Ticket #{number} is of type “incident”, which needs more. Please set:\n"
        f"• company: /company {number} NAME")


async def test_internal_tickets_are_staff_only(h: Harness) -> None:
    await h.say(ANNA, "hi")
    assert await ask(h, LENA, "/new type=design Build the test rack\nTwo shelves") == \
        "Ticket #1 is open."
    ticket = await h.ticket(1)
    assert (ticket.internal, ticket.type, ticket.subject) == (True, "design",
                                                              "Build the test rack")
    assert await ask(h, LENA, "/type 1 question") == (
        "#1 is an internal ticket, so its type stays internal. Choose one of: design.")
    assert await ask(h, LENA, f"/observe 1 {CARL}") == \
        "#1 is internal: no client and no copy address can join it."
    assert await ask(h, LENA, "/cc 1 boss@acme.example") == \
        "#1 is internal: no client and no copy address can join it."
    assert await ask(h, ANNA, "/status 1", ANNA.id) == "Ticket #1 not found."
    assert await ask(h, SAM, "/new type=design in the group", SUPPORT) == \
        "Internal tickets are opened in the staff chat, never in the support group."
    assert await ask(h, ANNA, "/new type=design my own", ANNA.id) == \
        "Sorry, your role doesn't allow this: internal tickets."
    await ask(h, SAM, "/take 1")
    await h.say(SAM, "/note 1 shelves ordered", chat=STAFF)
    await h.drained()
    out = await rows(h)
    assert {o["recipient"] for o in out if o["ticket"] == 1} <= {
        str(STAFF), str(LENA.id), str(SAM.id), str(OLGA.id)}
    assert not [m for m in h.fake.bot_messages(SUPPORT) if "test rack" in m["text"]]
    anna = await h.person_id(ANNA)
    async with h.rt.uow() as uow:
        assert [t.number for t in await uow.tickets.requested_by(anna, 10)] == []


async def test_take_in_the_support_group_asks_in_the_staff_chat(h: Harness) -> None:
    """The group's members are clients: the ✅ there, the question for staff elsewhere."""
    number = await mailed_ticket(h)
    await ask(h, LENA, f"/type {number} incident")
    await h.say(SAM, f"/take {number}", chat=SUPPORT)
    asked = await h.sent(lambda f: next((m["text"] for m in f.bot_messages(STAFF)
                                         if "which needs more" in m["text"]), None))
    assert f"• planned resolution date: /due {number} 2026-12-01" in asked
    assert h.fake.sent("setmessagereaction", SUPPORT)
    assert not [t for t in h.texts(SUPPORT) if "needs more" in t or "/due" in t]
