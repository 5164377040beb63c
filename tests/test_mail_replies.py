"""The reply corpus (tests/mail/replies/<origin>/<case>.txt): for every case, strip_quotes
returns exactly the new text the person wrote, "" when they wrote nothing; and it stays fast
on a megabyte of any shape."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from bot.channels.email.understand.quotes import strip_quotes
from tests.support_replies import ReplyCase, reply_cases

CASES = reply_cases()
ORIGINS = {"gmail", "outlook_desktop", "outlook_web_fr", "apple_mail", "thunderbird",
           "yandex_mailru", "mobile"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_exact_new_text(case: ReplyCase) -> None:
    assert strip_quotes(case.body) == case.expected


def test_the_corpus_covers_seven_origins_and_russian() -> None:
    per_origin = Counter(c.origin for c in CASES)
    assert set(per_origin) == ORIGINS
    assert len(CASES) >= 250
    assert min(per_origin.values()) >= 30
    assert sum(c.russian for c in CASES) >= 80


# Every failure mode of issue #10 has named cases (a word of their names), and so does every
# style that worked before and must keep working.
CLASSES = [
    "wrapped", "address_split", "iso_date", "_fi", "_no", "_de", "_fr", "name_first",
    "dashed_wrote_banner", "no_colon", "dotted_time", "bare_address", "glued", "nothing_new",
    "hard_wrapped", "link_split", "qp_split", "history_below", "dashes_above_forward",
    "bold", "original_message_no", "original_message_sv", "original_message_fi", "envoye_le", "sujet", "message_du",
    "copie_a", "no_space_after_colon", "without_from", "footer_norwegian", "footer_german",
    "footer_french", "app_", "bracketed", "footer_ends_reply", "list_footer", "underscore_sig",
    "sign_off",
    "bottom", "interleaved", "thebat_initials", "memo", "kept",
]


@pytest.mark.parametrize("word", CLASSES)
def test_every_class_has_named_cases(word: str) -> None:
    assert any(word in c.id for c in CASES), word


def test_nothing_new_is_empty_in_every_origin() -> None:
    empty = {c.origin for c in CASES if c.expected == ""}
    assert empty == ORIGINS


MEGABYTE = 1_000_000


def _megabyte(unit: str) -> str:
    return unit * (MEGABYTE // len(unit) + 1)


SHAPES = {
    "a long reply above a long quote": _megabyte(
        "The printer prints blank pages since Monday.\n" * 100
        + "\nOn Mon, Nov 16, 2026 at 10:04 AM Support <s@help.example.com> wrote:\n"
        + "> Please restart it and tell us whether the light turns green.\n" * 100),
    "quoted lines each followed by a lowercase tail": _megabyte(
        "> a quoted line long enough to look wrapped by the replying client, and more\n"
        "tail of it\n"),
    "attribution-like lines": _megabyte(
        "Thanks. On Mon, 16.11.2026 10:04 a@b.example x@y.example Support wrote:\n"),
    "blank lines between colons": _megabyte("wrote:\n" + "\n \n" * 1000),
    "header-like lines": _megabyte("From: a\nTo: b\nSubject: c\nSent: d\n"),
    "one line": "x" * MEGABYTE,
    "footer-like lines": _megabyte("\nSent with care\n"),
    "dashes": _megabyte("- - - - - - - - - - - - - - - - - - - - - - -\n"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_megabyte_strips_well_under_a_second(shape: str) -> None:
    """Another guard bounds the time a whole mail may take; the stripper's share is small."""
    body = SHAPES[shape]
    start = time.perf_counter()
    strip_quotes(body)
    assert time.perf_counter() - start < 0.6
