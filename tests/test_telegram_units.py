"""The Telegram channel's pure parts: pleasantries, the first-line rules, escaping and
clipping for the HTML parse mode, button signatures, and reading updates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from bot.channels.telegram.act.promote import sign, verify
from bot.channels.telegram.deliver.render import clip, esc, quote, utf16_len
from bot.channels.telegram.receive.inbound import ChatMessage, from_update
from bot.channels.telegram.understand import dialogs as d
from bot.channels.telegram.understand.refs import parse_ref, ref
from tests.fakebotapi import parse_html

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=10)
CHAT, ANNA, BORIS, SAM = -100, 1, 2, 9


@pytest.mark.parametrize("text", [
    "thanks", "Thank you!", "ok, thanks!", "спасибо", "Спасибо большое 🙏", "ок", "👍",
    "🙏🙏", "", "понял, спасибо", "Thanks a lot guys", "всё работает", "super, it works now"])
def test_pleasantries(text: str) -> None:
    assert d.is_pleasantry(text)


@pytest.mark.parametrize("text", [
    "ok?", "thanks, but it still fails", "printer", "спасибо, а как сбросить пароль",
    "...", "???", "ok so how do I reset my password", "1", "#12"])
def test_not_pleasantries(text: str) -> None:
    assert not d.is_pleasantry(text)


def _line(message_id: int, author: int, minutes: float, text: str = "help",
          reply_to: int | None = None) -> d.Line:
    return d.Line(CHAT, message_id, author, text, T0 + dt.timedelta(minutes=minutes), reply_to)


def _around(replied: d.Dialog | None = None, latest: d.Dialog | None = None,
            *open_: d.Dialog) -> d.Surroundings:
    return d.Surroundings(replied, latest, tuple(open_))


def test_the_same_author_within_the_window_joins_the_dialog() -> None:
    first = d.new_dialog(_line(1, ANNA, 0))
    assert d.decide(_line(2, ANNA, 10), staff=False, around=_around(None, first),
                    window=WINDOW) == d.Join(first)
    assert d.decide(_line(3, ANNA, 10.5), staff=False, around=_around(None, first),
                    window=WINDOW) == d.Start()


def test_a_reply_chain_joins_an_open_dialog_and_starts_anew_after_the_answer() -> None:
    anna = d.new_dialog(_line(1, ANNA, 0))
    assert d.decide(_line(2, BORIS, 30, reply_to=1), staff=False, around=_around(anna),
                    window=WINDOW) == d.Join(anna)
    answered = anna.answered(SAM, T0)
    assert d.decide(_line(3, ANNA, 30, reply_to=1), staff=False, around=_around(answered),
                    window=WINDOW) == d.Start()


def test_specialists_answer_by_reply_or_answer_everything_open() -> None:
    anna, boris = d.new_dialog(_line(1, ANNA, 0)), d.new_dialog(_line(2, BORIS, 1))
    assert d.decide(_line(3, SAM, 2, reply_to=2), staff=True, around=_around(boris),
                    window=WINDOW) == d.Answer((boris,))
    assert d.decide(_line(4, SAM, 2), staff=True, around=_around(None, None, anna, boris),
                    window=WINDOW) == d.Answer((anna, boris))
    assert isinstance(d.decide(_line(5, SAM, 3, reply_to=77), staff=True, around=_around(),
                               window=WINDOW), d.Ignore)


def test_response_time_comes_from_message_dates() -> None:
    dialog = d.new_dialog(_line(1, ANNA, 0)).answered(SAM, T0 + dt.timedelta(minutes=7))
    assert dialog.response_seconds == 420
    skewed = d.new_dialog(_line(1, ANNA, 0)).answered(SAM, T0 - dt.timedelta(seconds=5))
    assert skewed.response_seconds == 0


def test_follow_ups_are_the_authors_messages_from_the_given_one() -> None:
    dialog = d.new_dialog(_line(1, ANNA, 0, "a"))
    for line in (_line(2, BORIS, 1, "b", 1), _line(3, ANNA, 2, "c"), _line(4, ANNA, 3, "e")):
        dialog = dialog.joined(line)
    assert [p.text for p in dialog.follow_ups(3)] == ["c", "e"]
    assert [p.text for p in dialog.follow_ups(1)] == ["a", "c", "e"]
    assert dialog.edited(3, "C").text == "a\nb\nC\ne"


@given(st.text())
def test_escaped_text_reaches_telegram_unchanged(text: str) -> None:
    assert parse_html(esc(text)) == text
    assert parse_html(quote(text, 50)) == clip(text, 50)


@given(st.text(min_size=1), st.integers(min_value=2, max_value=300))
def test_clip_keeps_within_the_limit(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert utf16_len(clipped) <= limit
    assert clipped == text or clipped.endswith("…")


def test_button_data_is_signed_and_short() -> None:
    secret = b"s3cret"
    data = sign(secret, 123456789)
    assert len(data.encode()) <= 64 and verify(secret, data) == 123456789
    assert verify(b"other", data) is None
    assert verify(secret, data.replace("123456789", "123456788")) is None
    for junk in ("", "tk", "tk:", "tk:x:y", "rate.1.2.3.4", "tk:1:" + "A" * 100):
        assert verify(secret, junk) is None


def test_refs_round_trip_and_refuse_mail_ids() -> None:
    assert parse_ref(ref(-100123, 45)) == parse_ref("tg:-100123:45")
    assert parse_ref("<abc@example.com>") is None and parse_ref("tg:x:1") is None


def _update(message: dict[str, object]) -> Update:
    return Update.de_json({"update_id": 1, "message": message}, None)


def test_a_topic_message_is_not_a_reply_to_the_topic() -> None:
    base = {"date": 1795428000, "chat": {"id": CHAT, "type": "supergroup", "is_forum": True},
            "from": {"id": ANNA, "is_bot": False, "first_name": "Anna"}}
    topic_start = {**base, "message_id": 7, "forum_topic_created": {
        "name": "t", "icon_color": 1}}
    msg = from_update(_update({**base, "message_id": 8, "text": "hi", "message_thread_id": 7,
                               "is_topic_message": True, "reply_to_message": topic_start}))
    assert isinstance(msg, ChatMessage) and msg.reply_to is None and msg.thread_id == 7
    photo = from_update(_update({**base, "message_id": 9, "photo": [
        {"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]}))
    assert isinstance(photo, ChatMessage) and photo.text == "[photo]"
