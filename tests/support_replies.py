"""The reply corpus: tests/mail/replies/<origin>/<case>.txt, each a mail body as the client
wrote it, a separator line, and the exact new text a person added (empty when nothing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPLIES = Path(__file__).parent / "mail" / "replies"
SEPARATOR = "\n~~~~~~~~ expected new text ~~~~~~~~\n"
_CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


@dataclass(frozen=True)
class ReplyCase:
    origin: str
    name: str
    body: str
    expected: str

    @property
    def id(self) -> str:
        return f"{self.origin}/{self.name}"

    @property
    def russian(self) -> bool:
        """A case whose new text, or the quote it answers, is in Russian."""
        return bool(_CYRILLIC.search(self.body))


def load_case(path: Path) -> ReplyCase:
    body, expected = path.read_text(encoding="utf-8").split(SEPARATOR)
    return ReplyCase(path.parent.name, path.stem, body, expected.removesuffix("\n"))


def reply_cases() -> list[ReplyCase]:
    return [load_case(p) for p in sorted(REPLIES.glob("*/*.txt"))]
