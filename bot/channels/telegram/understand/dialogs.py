"""F5, the first line as pure rules: which support-group message opens a dialog, which one
joins a dialog, and which specialist message answers which dialogs.

A dialog is one person's question (several messages: the same author within the window, and
any reply chain) and the first specialist answer to it: a Telegram reply to one of its
messages or, without a reply, the next specialist message in the group. Response times come
from Telegram's own message dates, so a bot that was down does not stretch them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# The dialog itself is the engine's: it stores dialogs and says when one was asked and
# answered (`RecordDialogs`); these rules only decide which message does what.
from engine.dialogs import ANSWERED, MAX_TEXT, OPEN, TICKET, Dialog, Part

__all__ = ["ANSWERED", "MAX_TEXT", "OPEN", "TICKET", "Answer", "Decision", "Dialog", "Ignore",
           "Join", "Line", "Part", "Start", "Surroundings", "decide", "is_pleasantry",
           "new_dialog", "oldest_first"]

# Pleasantries open no dialog and reopen nothing. A phrase counts when every word is one of
# these and at least one is a "core" word: "ok, thanks!" and "спасибо большое" do, "so" alone
# does not, and anything with a question mark ("ok?") is a question.
_CORE = frozenset((
    "thanks", "thank", "thx", "ty", "tnx", "ok", "okay", "k", "kk", "great", "perfect", "cool",
    "nice", "awesome", "cheers", "np", "super", "works", "helped", "solved", "fixed", "got",
    "understood", "noted", "yes", "yep", "sure", "fine", "good", "спасибо", "спс", "спасиб",
    "пасиб", "благодарю", "благодарствую", "ок", "окей", "хорошо", "понял", "поняла",
    "понятно", "ясно", "отлично", "супер", "класс", "ага", "угу", "да", "работает",
    "заработало", "помогло", "получилось", "принято", "норм",
))
_FILLER = frozenset((
    "you", "very", "much", "a", "lot", "so", "it", "all", "now", "that", "this", "it's", "is",
    "for", "the", "again", "guys", "everyone", "большое", "огромное", "вам", "всем", "все",
    "всё", "теперь", "уже", "это", "так", "ещё", "еще", "очень",
))
_MAX_PLEASANTRY_WORDS = 6
_WORD = re.compile(r"[\w']+")


def is_pleasantry(text: str) -> bool:
    if "?" in text:
        return False
    stripped = text.strip()
    if not any(ch.isalnum() for ch in stripped):
        return _symbols_only(stripped)
    words = [w.replace("ё", "е") for w in _WORD.findall(stripped.lower())]
    known = _CORE | _FILLER
    return (0 < len(words) <= _MAX_PLEASANTRY_WORDS and all(w in known for w in words)
            and any(w in _CORE for w in words))


def _symbols_only(text: str) -> bool:
    """A lone emoji or sticker (an empty text), not a row of punctuation like "..."."""
    return not text or any(unicodedata.category(ch) == "So" for ch in text)


@dataclass(frozen=True)
class Line:
    """One support-group message as the rules see it."""

    chat_id: int
    message_id: int
    author_id: int
    text: str
    date: dt.datetime
    reply_to: int | None = None


def new_dialog(line: Line) -> Dialog:
    return Dialog(chat_id=line.chat_id, author_id=line.author_id,
                  first_message_id=line.message_id, started_at=line.date,
                  last_message_at=line.date,
                  parts=(Part(line.message_id, line.author_id, line.text),))


# --- decisions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class Start:
    """A new question."""


@dataclass(frozen=True)
class Join:
    dialog: Dialog


@dataclass(frozen=True)
class Answer:
    dialogs: tuple[Dialog, ...]


Decision = Ignore | Start | Join | Answer


@dataclass(frozen=True)
class Surroundings:
    """What the rules need to know around one message, looked up by the caller."""

    replied: Dialog | None  # the dialog of the message this one replies to
    latest_of_author: Dialog | None  # the author's newest open dialog in this chat
    open_in_chat: tuple[Dialog, ...]  # every unanswered dialog in this chat, oldest first


def decide(line: Line, *, staff: bool, around: Surroundings,
           window: dt.timedelta) -> Decision:
    if staff:
        return _answer(line, around)
    if is_pleasantry(line.text):
        return Ignore("pleasantry")
    return _question(line, around, window)


def _answer(line: Line, around: Surroundings) -> Decision:
    if line.reply_to is None:
        return Answer(around.open_in_chat) if around.open_in_chat else Ignore("nothing open")
    replied = around.replied
    if replied is not None and replied.status == OPEN:
        return Answer((replied,))
    # A reply to a colleague, to the bot, or to a question answered already.
    return Ignore("not an answer")


def _question(line: Line, around: Surroundings, window: dt.timedelta) -> Decision:
    replied = around.replied
    if replied is not None:
        # A reply chain stays one dialog while it is open; after the answer, a further
        # question in the chain is a new dialog (with its own response time).
        return Join(replied) if replied.status == OPEN else Start()
    latest = around.latest_of_author
    if latest is not None and line.date - latest.last_message_at <= window:
        return Join(latest)
    return Start()


def oldest_first(dialogs: Iterable[Dialog]) -> tuple[Dialog, ...]:
    return tuple(sorted(dialogs, key=lambda d: (d.started_at, d.first_message_id)))
