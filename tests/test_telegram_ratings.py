"""F13 in Telegram: after a resolution the requester gets rating buttons privately; their
press records the score, anyone else's is refused, and a second press changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from engine.store import tables
from engine.store.db import reading
from tests.support_telegram import ANNA, BORIS, SAM, STAFF, Harness, sqlite_harness

__all__ = ["sqlite_harness"]


async def test_the_requester_rates_with_a_button(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    await h.say(ANNA, "/start", chat=ANNA.id)
    q = await h.say(ANNA, "Outlook asks for a password")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.say(SAM, "/resolve 1 Reset your password at id.example.com", chat=STAFF, minutes=5)
    h.clock.advance(minutes=31)  # surveys go out after the delay, if nobody reopened
    survey = await h.sent(lambda f: next((m for m in f.bot_messages(ANNA.id)
                                          if m.get("reply_markup")), None))
    assert "Please rate the answer" in survey["text"]
    buttons = [b for row in survey["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]

    await h.press(BORIS, ANNA.id, survey["message_id"], buttons[0]["callback_data"])
    await h.press(ANNA, ANNA.id, survey["message_id"], buttons[4]["callback_data"])
    await h.press(ANNA, ANNA.id, survey["message_id"], buttons[0]["callback_data"])
    toasts = [a["text"] for a in h.fake.sent("answercallbackquery")]
    assert toasts == ["Оценить заявку #1 может только её автор.",
                      "Thank you! Your rating 5 for ticket #1 is saved.",
                      "Ticket #1 has already been rated. Thank you!"]
    async with reading(h.db) as conn:
        scores = (await conn.execute(select(tables.ratings.c.score))).scalars().all()
    assert list(scores) == [5]
