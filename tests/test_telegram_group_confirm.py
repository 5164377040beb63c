"""The support group: a staff command shows it took (a ✅ on the command, or one line where
reactions are not allowed), the card speaks the asker's language, and nothing of a ticket
that is not the group's is shown there. The real python-telegram-bot application against
the fake Bot API."""

from __future__ import annotations

from typing import Any

from engine import commands as c
from engine.model import Status
from tests.support_telegram import (
    ANNA,
    BORIS,
    LENA,
    OLGA,
    SAM,
    STAFF,
    SUPPORT,
    Harness,
    sqlite_harness,
)

__all__ = ["sqlite_harness"]


def _answers(h: Harness, chat: int, message_id: int) -> list[dict[str, Any]]:
    return [m for m in h.fake.bot_messages(chat)
            if m.get("reply_to_message", {}).get("message_id") == message_id]


async def _group_ticket(h: Harness) -> int:
    q = await h.say(BORIS, "Не работает VPN")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.sent(lambda f: any(m["text"].startswith("🎫 #1") for m in f.bot_messages(SUPPORT)))
    return q


async def test_a_command_in_the_group_gets_a_check_mark_and_no_message(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    await _group_ticket(h)
    before = len(h.fake.bot_messages(SUPPORT))
    take = await h.say(SAM, "/take 1", minutes=1)
    await h.sent(lambda f: f.reactions.get((SUPPORT, take)))
    assert h.fake.reactions[(SUPPORT, take)] == ["✅"]
    assert (await h.ticket(1)).status is Status.IN_PROGRESS
    assert _answers(h, SUPPORT, take) == []
    assert len(h.fake.bot_messages(SUPPORT)) == before  # the card was edited, not reposted


async def test_where_reactions_are_refused_one_line_says_it(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    await _group_ticket(h)
    h.fake.fail("setMessageReaction", "400")
    take = await h.say(SAM, "/take 1", minutes=1)
    [said] = await h.sent(lambda f: _answers(h, SUPPORT, take) or None)
    assert said["text"] == "You took ticket #1."  # Sam's language
    assert (SUPPORT, take) not in h.fake.reactions


async def test_the_group_card_speaks_the_askers_language(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    q = await _group_ticket(h)
    [group_card] = [m for m in h.fake.bot_messages(SUPPORT) if m["text"].startswith("🎫")]
    assert group_card["reply_to_message"]["message_id"] == q
    assert "Статус:" in group_card["text"] and "Автор вопроса:" in group_card["text"]
    staff_card = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                              if m["text"].startswith("🎫 #1")), None))
    assert "Status:" in staff_card["text"]  # the desk's own language in the staff chat
    # The SLA's planned dates are for staff: in the staff chat's card, not the group's.
    assert "First answer due:" in staff_card["text"]
    assert "до:" not in group_card["text"] and "due" not in group_card["text"]


async def test_a_colleagues_ticket_can_be_read_and_the_refusal_says_whose(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    await _group_ticket(h)  # Sam's
    ask = await h.say(OLGA, "/status 1", chat=STAFF, minutes=1)
    [shown] = await h.sent(lambda f: _answers(h, STAFF, ask) or None)
    assert shown["text"].startswith("🎫 #1 Не работает VPN")  # not "not found"
    close = await h.say(OLGA, "/resolve 1", chat=STAFF, minutes=1)
    [refusal] = await h.sent(lambda f: _answers(h, STAFF, close) or None)
    assert refusal["text"] == ("#1 ведёт Sam Spec; обратитесь к руководителю или к "
                               "Sam Spec.")
    assert (await h.ticket(1)).status is Status.OPEN


async def test_status_of_a_mail_ticket_asked_in_the_group_is_answered_in_the_staff_chat(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    async with h.rt.uow() as uow:
        carl = await uow.people.by_email("carl@acme.example")
    assert carl is not None
    await h.rt.bus.handle(c.OpenTicket(actor=carl.id, channel="email", at=h.clock.now(),
                                       subject="Salary slip wrong",
                                       description="My salary slip shows the wrong bonus"))
    ask = await h.say(SAM, "/status 1", minutes=1)
    [said] = await h.sent(lambda f: _answers(h, SUPPORT, ask) or None)
    assert said["text"] == "Answered in the staff chat: this is not for the whole group."
    shown = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                         if m["text"].startswith("Sam\n")), None))
    assert shown["text"].startswith("Sam\n🎫 #1 Salary slip wrong")
    assert "wrong bonus" in shown["text"]
    assert f'href="tg://user?id={SAM.id}"' in shown["html"]
    await h.drained()
    assert not any("Salary" in m["text"] or "bonus" in m["text"]
                   for m in h.fake.bot_messages(SUPPORT))
    # /queue lists every unassigned ticket: in the staff chat too, never in the group.
    queue = await h.say(SAM, "/queue", minutes=1)
    await h.sent(lambda f: _answers(h, SUPPORT, queue) or None)
    await h.drained()
    assert not any("Salary" in m["text"] for m in h.fake.bot_messages(SUPPORT))
    assert sum("Salary" in m["text"] for m in h.fake.bot_messages(STAFF)) >= 2


async def test_assign_takes_a_staff_members_name_from_the_directory(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    await _group_ticket(h)
    await h.say(LENA, "/assign 1 Olga", chat=STAFF, minutes=1)
    assert (await h.ticket(1)).responsible_id == await h.person_id(OLGA)
    wrong = await h.say(LENA, "/assign 1 Boris", chat=STAFF, minutes=1)  # a client: no
    [refusal] = await h.sent(lambda f: _answers(h, STAFF, wrong) or None)
    assert refusal["text"] == "I don't know Boris."


async def test_status_in_the_staff_chat_shows_every_sla_target(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    await _group_ticket(h)
    ask = await h.say(SAM, "/status 1", chat=STAFF, minutes=30)
    [shown] = await h.sent(lambda f: _answers(h, STAFF, ask) or None)
    assert "SLA (" in shown["text"]
    assert "First response: due " in shown["text"]
    assert "of business time left" in shown["text"] and "Resolution: due " in shown["text"]


async def test_the_export_holds_dialogs_chat_messages_and_names(
        sqlite_harness: Harness) -> None:
    from engine.store.queries import export_all

    h = sqlite_harness
    await h.start()
    q = await h.say(ANNA, "Printer jams")
    await h.say(SAM, "Pull the tray", reply_to=q, minutes=3)
    vpn = await h.say(BORIS, "VPN is down", minutes=1)
    await h.say(SAM, "/ticket", reply_to=vpn, minutes=1)
    await h.drained()
    data = await export_all(h.db)
    first = next(d for d in data["dialogs"] if d["text"] == "Printer jams")
    assert (first["author_id_name"], first["answered_by_name"], first["response_seconds"]) \
        == ("Anna", "Sam Spec", 180)
    by_id = {m["message_id"]: m for m in data["chat_messages"]}
    assert by_id[vpn]["ticket"] == 1 and by_id[vpn]["author_id_name"] == "Boris"
    assert by_id[q]["ticket"] is None
    [ticket] = data["tickets"]
    assert (ticket["requester_id_name"], ticket["responsible_id_name"]) == ("Boris", "Sam Spec")
    assert ticket["comments"][0]["author_id_name"] == "Boris"


async def test_ticket_on_a_follow_up_carries_the_whole_dialog(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    q = await h.say(ANNA, "Outlook does not sync")
    await h.say(SAM, "Restart it, please", reply_to=q, minutes=1)
    again = await h.say(ANNA, "didn't help", minutes=2)
    await h.say(SAM, "/ticket", reply_to=again, minutes=1)
    ticket = await h.ticket(1)
    assert ticket.description == "Outlook does not sync\ndidn't help"
    assert ticket.subject == "Outlook does not sync"
    assert ticket.source_ref == f"tg:{SUPPORT}:{q}"  # the question is where the card goes
    # Neither the question nor the follow-up is offered by the picker any more.
    picker = await h.say(LENA, "/ticket", minutes=1)
    [offered] = await h.sent(lambda f: _answers(h, SUPPORT, picker) or None)
    assert offered["text"] == "No questions are waiting in the support group."
