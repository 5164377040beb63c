"""Logging: one line per decision, named loggers per subsystem, and no secrets.

`--log-format json` writes each record as one JSON object per line (time, level, logger,
message, and the traceback as a field), for log collectors."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable

LOG_FORMATS = ("text", "json")

# Bot API URLs carry the token (`/bot123:ABC/sendMessage`); URLs in a log line may carry
# passwords (`postgresql://u:pw@host`). Both are masked wherever they appear.
_SECRETS = (
    (re.compile(r"bot\d+:[A-Za-z0-9_-]+"), "bot<token>"),
    (re.compile(r"(://[^:/@\s]+):[^@\s]+@"), r"\1:***@"),
)


def redact(text: str, known: Iterable[str] = ()) -> str:
    """`text` with URL passwords and Bot API tokens masked, and each of the configured
    secrets `known` (passwords, the token) wherever it appears, e.g. in a library's
    protocol trace at DEBUG."""
    for secret in known:
        text = text.replace(secret, "***")
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str | None = None, known: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        # Longest first, so a secret that contains another is masked whole.
        self.known = tuple(sorted({s for s in known if s}, key=len, reverse=True))

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.known)


class JsonFormatter(RedactingFormatter):
    """One JSON object per record, on one line (a traceback is a field, not more lines)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
                "level": record.levelname, "logger": record.name,
                "message": redact(record.getMessage(), self.known)}
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info), self.known)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: str, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter(known=secrets))
    else:
        handler.setFormatter(RedactingFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "aiosqlite", "alembic", "apscheduler", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
