"""Nothing secret reaches the log: Bot API tokens and URL passwords are masked."""

from __future__ import annotations

import logging

import pytest

from bot.logs import RedactingFormatter, redact


@pytest.mark.parametrize(("line", "secret"), [
    ("POST https://api.telegram.org/bot123456:AAH-x_y9/sendMessage", "AAH-x_y9"),
    ("database postgresql+asyncpg://tb:hunter2@db:5432/tb", "hunter2"),
    ("imap://support:p4ss@imap.example.com", "p4ss"),
])
def test_secrets_are_masked(line: str, secret: str) -> None:
    assert secret not in redact(line)


def test_plain_lines_are_kept() -> None:
    line = "#12 threaded by in-reply-to from carl@acme.test"
    assert redact(line) == line


def test_formatter_masks_arguments() -> None:
    record = logging.LogRecord("ticketbot.telegram", logging.INFO, __file__, 1,
                               "calling %s", ("https://x/bot42:SECRET/getMe",), None)
    assert "SECRET" not in RedactingFormatter("%(message)s").format(record)


def test_configured_secrets_are_masked_wherever_they_appear() -> None:
    """A library's protocol trace at DEBUG (aioimaplib logs the LOGIN line) carries the
    password as it is; the configured secrets are masked in text and JSON lines alike."""
    from bot.logs import JsonFormatter
    from config.settings import from_mapping, secrets_of

    settings = from_mapping({"email": {"imap": {"host": "h", "user": "u"}}},
                            {"TICKETBOT_IMAP_PASSWORD": "imap-pw-99", "TICKETBOT_SECRET": "sk1"})
    known = secrets_of(settings)
    assert known == ["imap-pw-99"]  # a secret shorter than 4 characters would mask words
    record = logging.LogRecord("aioimaplib", logging.DEBUG, __file__, 1,
                               "Sending : %s", ("b'A001 LOGIN u imap-pw-99'",), None)
    assert RedactingFormatter("%(message)s", known).format(record) == \
        "Sending : b'A001 LOGIN u ***'"
    line = JsonFormatter(known=known).format(record)
    assert "imap-pw-99" not in line and '"message": "Sending : b\'A001 LOGIN u ***\'"' in line
