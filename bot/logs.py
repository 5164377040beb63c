"""Logging: one line per decision, named loggers per subsystem, and no secrets."""

from __future__ import annotations

import logging
import re

# Bot API URLs carry the token (`/bot123:ABC/sendMessage`); URLs in a log line may carry
# passwords (`postgresql://u:pw@host`). Both are masked wherever they appear.
_SECRETS = (
    (re.compile(r"bot\d+:[A-Za-z0-9_-]+"), "bot<token>"),
    (re.compile(r"(://[^:/@\s]+):[^@\s]+@"), r"\1:***@"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "aiosqlite", "alembic", "apscheduler", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
