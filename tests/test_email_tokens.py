"""Signed tokens in our Message-IDs and Reply-To addresses: they round-trip, survive the
lower-casing of refs, and anything forged or foreign reads as no token."""

from __future__ import annotations

from bot.channels.email.understand import tokens
from bot.channels.email.understand.identity import MailIdentity, is_no_reply
from bot.channels.email.understand.tokens import MailToken

KEY = b"k" * 32
DOMAINS = frozenset({"help.example.com"})


def test_message_id_round_trips_and_is_deterministic_per_row() -> None:
    mid = tokens.message_id(KEY, "Help.Example.com", 17, 5, 3)
    assert mid == tokens.message_id(KEY, "help.example.com", 17, 5, 3)
    assert mid.startswith("<tb.17.5-3-") and mid.endswith("@help.example.com>")
    assert tokens.read_message_id(KEY, mid.upper(), DOMAINS) == MailToken(5, 3, 17)


def test_message_id_without_ticket_or_person() -> None:
    mid = tokens.message_id(KEY, "help.example.com", 1, None, None)
    assert tokens.read_message_id(KEY, mid, DOMAINS) == MailToken(None, None, 1)


def test_tampering_another_key_or_another_domain_reads_as_nothing() -> None:
    mid = tokens.message_id(KEY, "help.example.com", 17, 5, 3)
    assert tokens.read_message_id(KEY, mid.replace(".5-3-", ".5-4-"), DOMAINS) is None
    assert tokens.read_message_id(b"other", mid, DOMAINS) is None
    assert tokens.read_message_id(KEY, mid, frozenset({"elsewhere.example"})) is None
    assert tokens.read_message_id(KEY, "<CA+abc@mail.gmail.com>", DOMAINS) is None


def test_reply_address_round_trips() -> None:
    address = tokens.reply_address(KEY, "support@help.example.com", 5, 3)
    assert address.startswith("support+5-3-") and address.endswith("@help.example.com")
    assert tokens.read_address(KEY, address.upper(), "support@help.example.com") == \
        MailToken(5, 3)
    assert tokens.read_address(KEY, address, "other@help.example.com") is None
    assert tokens.read_address(KEY, "support+5-3-0000@help.example.com",
                               "support@help.example.com") is None
    assert tokens.read_address(KEY, "support@help.example.com", "support@help.example.com") \
        is None


def test_own_addresses_and_no_reply_addresses() -> None:
    me = MailIdentity("support@help.example.com", KEY)
    assert me.is_own("Support@Help.Example.com") and me.is_own("support+x@help.example.com")
    assert not me.is_own("support@elsewhere.example") and not me.is_own(None)
    assert is_no_reply("No-Reply@shop.example") and is_no_reply("noreply+42@shop.example")
    assert is_no_reply("MAILER-DAEMON@mx.example") and not is_no_reply("carl@acme.example")
