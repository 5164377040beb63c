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
