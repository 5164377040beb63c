"""F5 and F6 in the support group, end to end: the real python-telegram-bot application
polls the fake Bot API over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from bot.channels.telegram.act.promote import sign
from engine.chatrefs import ref
from engine.model import Status
from tests.fakebotapi import FakeBotAPI
from tests.support_telegram import (
    ANNA,
    BORIS,
    LENA,
    OTHER_BOT,
    SAM,
    STAFF,
    SUPPORT,
    Harness,
    harness,
)

__all__ = ["harness"]


def _cards(fake: FakeBotAPI, chat: int) -> list[dict[str, Any]]:
    return [m for m in fake.bot_messages(chat) if m["text"].startswith("🎫")]


def _card_of(number: int, chat: int = SUPPORT, having: str = "") -> Any:
    """A check for the fake: ticket `number`'s card in `chat` once it contains `having`."""
    return lambda f: next((m for m in _cards(f, chat)
                           if m["text"].startswith(f"🎫 #{number} ") and having in m["text"]),
                          None)


async def test_group_scenario_from_questions_to_a_closed_ticket(harness: Harness) -> None:
    h = harness
    # First line: two questions; Anna's follow-up within the window joins her dialog.
    printer = await h.say(ANNA, "The printer on floor 3 is jammed")
    await h.say(ANNA, "It shows error E-42", minutes=2)
    vpn = await h.say(BORIS, "VPN doesn't connect", minutes=1)
    await h.say(SAM, "Open the tray and pull the sheet", reply_to=printer, minutes=2)
    await h.say(ANNA, "спасибо!", minutes=1)  # a pleasantry opens nothing

    dialogs = await h.dialogs()
    assert [(d["text"], d["status"]) for d in dialogs] == [
        ("The printer on floor 3 is jammed\nIt shows error E-42", "answered"),
        ("VPN doesn't connect", "open")]
    # From the messages' own dates: asked 10:00, answered 10:05.
    assert dialogs[0]["response_seconds"] == 300
    assert dialogs[0]["answered_by"] == await h.person_id(SAM)

    # /ticket as a reply: the question and its follow-up become ticket #1.
    await h.say(SAM, "/ticket", reply_to=printer, minutes=1)
    card = await h.sent(_card_of(1))
    assert card["reply_to_message"]["message_id"] == printer
    assert "Responsible: Sam Spec" in card["text"] and "Asked by: Anna" in card["text"]
    one = await h.ticket(1)
    anna = await h.person_id(ANNA)
    assert one.description == "The printer on floor 3 is jammed\nIt shows error E-42"
    assert (one.requester_id, one.observers, one.responsible_id) == (
        anna, {anna}, await h.person_id(SAM))
    assert one.source_ref == f"tg:{SUPPORT}:{printer}"
    assert await h.sent(_card_of(1, STAFF))  # the specialists' chat has its card too

    # /ticket alone: the remaining question as a button; pressing it opens ticket #2.
    picker_cmd = await h.say(LENA, "/ticket", minutes=1)
    picker = await h.sent(lambda f: next((m for m in f.bot_messages(SUPPORT)
                                          if m.get("reply_markup")), None))
    assert picker["reply_to_message"]["message_id"] == picker_cmd
    buttons = [b for row in picker["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["Boris: VPN doesn't connect"]
    await h.press(LENA, SUPPORT, picker["message_id"], buttons[0]["callback_data"])
    two = await h.sent(_card_of(2))
    assert two["reply_to_message"]["message_id"] == vpn
    assert (await h.ticket(2)).requester_id == await h.person_id(BORIS)
    assert await h.sent(lambda f: "No questions" in f.messages[(SUPPORT, picker["message_id"])]
                        ["text"])
    boris_dialog = (await h.dialogs())[1]
    assert (boris_dialog["status"], boris_dialog["ticket"]) == ("ticket", 2)
    assert boris_dialog["response_seconds"] == 5 * 60  # asked 10:03, the press at 10:08

    # /ticket again on the same message answers with the existing number.
    await h.say(SAM, "/ticket", reply_to=printer)
    assert await h.sent(lambda f: any("already has ticket #1" in m["text"]
                                      for m in f.bot_messages(SUPPORT)))

    # /take without N, replying to the card: the card is edited, not reposted.
    await h.say(SAM, "/take", reply_to=card["message_id"], minutes=1)
    edited = await h.sent(_card_of(1, having="in progress"))
    assert edited["message_id"] == card["message_id"]
    assert (await h.ticket(1)).status is Status.IN_PROGRESS

    # Anna asks for the status; the answer goes to her, in the group, as a reply.
    ask = await h.say(ANNA, "/status 1")
    shown = await h.sent(lambda f: next((m for m in f.bot_messages(SUPPORT)
                                         if m.get("reply_to_message", {}).get("message_id")
                                         == ask), None))
    assert "#1" in shown["text"] and "in progress" in shown["text"]

    # /close with an answer: the card says closed, the answer is posted in the thread.
    await h.say(SAM, "/close Replaced the drum", reply_to=card["message_id"], minutes=5)
    assert await h.sent(_card_of(1, having="closed"))
    h.clock.advance(seconds=30)  # the answer's grace period, in which /undo could stop it
    assert await h.sent(lambda f: any("Replaced the drum" in m["text"] and "Sam Spec" in m["text"]
                                      for m in f.bot_messages(SUPPORT)))
    assert (await h.ticket(1)).status is Status.CLOSED
    cards = [m for m in _cards(h.fake, SUPPORT) if m["message_id"] != shown["message_id"]]
    assert len(cards) == 2  # one card per ticket, edited in place


async def test_a_non_specialist_cannot_take(harness: Harness) -> None:
    h = harness
    q = await h.say(ANNA, "My mouse is dead")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.sent(_card_of(1))
    await h.say(BORIS, "/take 1")
    refusal = await h.sent(lambda f: next((m for m in f.bot_messages(SUPPORT)
                                           if "специалистов" in m["text"]), None))
    assert refusal["text"] == "Эта команда только для специалистов."  # Boris writes in Russian
    assert (await h.ticket(1)).responsible_id == await h.person_id(SAM)


async def test_an_edited_question_is_updated_not_duplicated(harness: Harness) -> None:
    h = harness
    q = await h.say(ANNA, "Excel crashes")
    await h.edit(ANNA, q, "Excel crashes when I open the budget file")
    dialogs = await h.dialogs()
    assert [d["text"] for d in dialogs] == ["Excel crashes when I open the budget file"]
    await h.say(SAM, "/ticket", reply_to=q)
    await h.sent(_card_of(1))
    assert (await h.ticket(1)).description == "Excel crashes when I open the budget file"
    await h.edit(ANNA, q, "Excel crashes when I open budget.xlsx")
    ticket = await h.ticket(1)
    assert ticket.description == "Excel crashes when I open budget.xlsx"
    assert [c.body for c in await h.comments(1)] == ["Excel crashes when I open budget.xlsx"]
    assert ticket.creator_id == await h.person_id(LENA)  # seed 002: the lead set the task


async def test_markup_characters_reach_telegram_escaped(harness: Harness) -> None:
    h = harness
    text = "<b>not bold</b> & <script>x</script> [#1] *stars* _under_ `code` a<b"
    q = await h.say(ANNA, text)
    await h.say(SAM, "/ticket", reply_to=q)
    card = await h.sent(_card_of(1))
    # The fake parses HTML as Telegram does: the text arrived intact, shown literally.
    assert text in card["text"]
    await h.say(ANNA, "/status 1")
    assert await h.sent(lambda f: any(text in m["text"] and "🎫" in m["text"]
                                      and m is not card for m in f.bot_messages(SUPPORT)))
    assert not [c for c in h.fake.calls if c.method == "sendmessage"
                and "can't parse" in str(c.params)]


async def test_forged_and_stray_callback_data_are_refused(harness: Harness, caplog: Any) -> None:
    h = harness
    await h.say(ANNA, "Where is the projector?")
    for data in ("tk:1:AAAAAAAAAAAAAAAA", "tk:999:" + sign(b"other-secret", 999)[7:],
                 "garbage", "tk:1", "rate.1.2.3.0123456789abcdef", ""):
        await h.press(SAM, SUPPORT, 1, data)
    answers = h.fake.sent("answercallbackquery")
    assert len(answers) == 6
    assert {a["text"] for a in answers} == {"This button is no longer valid."}
    assert [d["ticket"] for d in await h.dialogs()] == [None]  # nothing was created


async def test_other_bots_unknown_chats_and_foreign_commands_are_ignored(
        harness: Harness) -> None:
    h = harness
    await h.say(OTHER_BOT, "I am a bot asking a question")
    h.fake.add_chat(-1009999, "Random group")
    await h.say(ANNA, "hello from elsewhere", chat=-1009999)
    await h.say(SAM, "/take@other_bot 1")
    await h.say(ANNA, "/help@other_bot")
    last = await h.say(ANNA, "A real question")
    assert [d["text"] for d in await h.dialogs()] == ["A real question"]
    assert h.fake.sent("sendmessage") == []
    assert last


async def test_a_specialist_message_without_reply_answers_every_open_dialog(
        harness: Harness) -> None:
    h = harness
    await h.say(ANNA, "Wifi is slow")
    await h.say(BORIS, "И у меня", minutes=1)
    await h.say(SAM, "We are restarting the router", minutes=4)
    assert [(d["status"], d["response_seconds"]) for d in await h.dialogs()] == [
        ("answered", 300), ("answered", 240)]
    # The same author later, beyond the 10-minute window, asks anew.
    await h.say(ANNA, "Still slow", minutes=20)
    assert [d["status"] for d in await h.dialogs()] == ["answered", "answered", "open"]


async def test_hash_number_and_replies_in_a_thread_comment_and_reopen(harness: Harness) -> None:
    h = harness
    q = await h.say(ANNA, "Laptop won't boot")
    await h.say(SAM, "/ticket", reply_to=q)
    card = await h.sent(_card_of(1))
    await h.say(ANNA, "#1 it beeps three times", minutes=1)
    await h.say(SAM, "Bring it to room 12", reply_to=card["message_id"], minutes=1)
    bodies = [(c.body, c.public) for c in await h.comments(1)]
    assert bodies[1:] == [("it beeps three times", True), ("Bring it to room 12", True)]
    await h.say(SAM, "/resolve", reply_to=card["message_id"], minutes=1)
    await h.say(ANNA, "thanks!", reply_to=card["message_id"], minutes=1)  # reopens nothing
    assert (await h.ticket(1)).status is Status.RESOLVED
    await h.say(ANNA, "It broke again", reply_to=card["message_id"], minutes=60)
    assert (await h.ticket(1)).status is Status.OPEN  # within reopen_days


async def test_a_message_after_a_closed_ticket_opens_a_linked_one(harness: Harness) -> None:
    h = harness
    q = await h.say(ANNA, "Monitor flickers")
    await h.say(SAM, "/ticket", reply_to=q)
    card = await h.sent(_card_of(1))
    await h.say(SAM, "/close", reply_to=card["message_id"], minutes=1)
    await h.say(ANNA, "It flickers again", reply_to=card["message_id"], minutes=60 * 24 * 8)
    second = await h.sent(_card_of(2))
    assert "Follows #1" in second["text"]
    assert (await h.ticket(2)).linked_to == 1
    assert (await h.ticket(1)).status is Status.CLOSED


async def test_a_newcomer_is_registered_once_through_the_engine(harness: Harness) -> None:
    """Anna is in no config: her first message makes her a client, with one event staff can
    see in the export; her second message finds her."""
    from engine.store.queries import export_all

    first = await harness.say(ANNA, "The printer on floor 2 is jammed")
    await harness.say(ANNA, "Anyone?", minutes=1)
    anna = await harness.person_id(ANNA)
    events = (await export_all(harness.db))["desk_events"]
    assert [(e["kind"], e["channel"], e["payload"]) for e in events] == [
        ("contact_registered", "telegram",
         {"person_id": anna, "address": None, "telegram_id": ANNA.id}),
        # and her question (the second message joins it): tests/test_first_line_events.py
        ("question_asked", "telegram", {"dialog": ref(SUPPORT, first), "chat_id": SUPPORT})]


async def test_a_reply_from_the_staff_chat_says_it_was_posted_in_the_group(
        harness: Harness) -> None:
    q = await harness.say(ANNA, "VPN is down")
    await harness.say(SAM, "/ticket", reply_to=q, minutes=1)
    command = await harness.say(SAM, "/reply 1 Restarted the VPN server", chat=STAFF, minutes=2)
    echo = await harness.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                              if m["text"].startswith("💬")), None))
    assert echo["text"] == "💬 To the support group in 30 s — /undo to withdraw"
    assert echo["reply_to_message"]["message_id"] == command
    await harness.drained()
    assert not any("Restarted" in m["text"] for m in harness.fake.bot_messages(SUPPORT))
    harness.clock.advance(seconds=30)  # the grace period is over
    answer = await harness.sent(lambda f: next((m for m in f.bot_messages(SUPPORT)
                                                if "Restarted the VPN server" in m["text"]), None))
    # Under Anna's own question, naming the ticket, with a mention that notifies her.
    assert answer["text"] == "Anna, #1: Sam Spec answered:\nRestarted the VPN server"
    assert answer["reply_to_message"]["message_id"] == q
    assert f'href="tg://user?id={ANNA.id}"' in answer["html"]
    assert [m for m in harness.fake.bot_messages(SUPPORT) if "Restarted" in m["text"]] == [answer]
