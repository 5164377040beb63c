"""`[answers.NAME]`: canned answers (F17), each in English and Russian, checked at load.

    [answers.restart]
    en = "Hello {requester}, please restart the printer; ticket {number} stays open."
    ru = "Здравствуйте, {requester}! Перезапустите принтер; заявка {number} открыта."

`/answer N restart` posts the text in the client's language as a public reply, with the
ticket's fields filled in (PLACEHOLDERS); a placeholder not in that list is a config error.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.reader import ConfigError, Table

PLACEHOLDERS = ("number", "subject", "requester", "responsible", "status", "priority")
LANGUAGES = ("en", "ru")
_NAME = re.compile(r"[^\W\d][\w-]*")


@dataclass(frozen=True)
class CannedAnswer:
    name: str
    texts: Mapping[str, str]  # language -> template

    def text(self, lang: str) -> str:
        return self.texts.get(lang) or self.texts["en"]


def parse_answers(data: Mapping[str, Any]) -> tuple[CannedAnswer, ...]:
    found = []
    for name, value in data.items():
        key = f"answers.{name}"
        if not _NAME.fullmatch(name) or name != name.lower():
            raise ConfigError(f"{key}: a name is lower-case letters, digits, - and _, "
                              "starting with a letter")
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a table with en and ru")
        table = Table(value, key, frozenset(LANGUAGES))
        texts = {lang: _template(table, lang) for lang in LANGUAGES}
        found.append(CannedAnswer(name, texts))
    return tuple(found)


def _template(table: Table, lang: str) -> str:
    text = table.opt_text(lang)
    key = f"{table.path}.{lang}"
    if not text or not text.strip():
        raise ConfigError(f"{key}: missing (every answer has en and ru)")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc} (write {{{{ and }}}} for braces)") from None
    for field in fields:
        if field not in PLACEHOLDERS:
            raise ConfigError(f"{key}: unknown placeholder {{{field}}} "
                              f"(known: {', '.join(PLACEHOLDERS)})")
    return text
