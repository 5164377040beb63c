"""Every text bound for the database is cleaned and bounded here, the same way on SQLite and
PostgreSQL, so a mail that one backend would take and the other refuse is stored alike on
both: NUL characters are dropped (PostgreSQL refuses them in text), lone surrogates (a stray
8-bit byte decoded with `surrogateescape`, which no driver can encode) become U+FFFD, and a
value longer than its column is cut to the column (SQLite would keep it, PostgreSQL fail).

`engine/store/tables.py` gives every String and Text column these types; identifiers that
must stay exact (Message-IDs, addresses) are bounded by the channels before they get here.
"""

from __future__ import annotations

import re

from sqlalchemy import Dialect, String, Text
from sqlalchemy.types import TypeDecorator

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str, length: int | None = None) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        value = _SURROGATE.sub("\ufffd", value)
    if length is not None and len(value) > length:
        value = value[:length]
    return value


class CleanString(TypeDecorator[str]):
    """A VARCHAR(n) that never refuses a value (the DDL is the plain String's)."""

    impl = String
    cache_ok = True

    def __init__(self, length: int | None = None) -> None:
        super().__init__(length)
        self.length = length

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean_text(value, self.length)


class CleanText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean_text(value)
