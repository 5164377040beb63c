"""What the mail parser's worker process runs (worker.py), and the same inline.

Kept apart from offload.py so the worker imports the parser and nothing else: no asyncio,
no engine events (6 MB less of its memory, bench/service.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.channels.email.understand.parse import ParsedMail, parse_mail
from bot.channels.email.understand.quotes import strip_quotes


@dataclass(frozen=True, slots=True)
class Understood:
    """A parsed mail and its reply text without the quoted part."""

    mail: ParsedMail
    reply: str


def understand(raw: bytes) -> Understood:
    mail = parse_mail(raw)
    return Understood(mail, strip_quotes(mail.text, mail.html))


def _in_worker(raw: bytes) -> Understood:
    """In the worker process: a mapping proxy cannot be pickled, so headers go as a dict."""
    done = understand(raw)
    return replace(done, mail=replace(done.mail, headers=dict(done.mail.headers)))


def _in_worker_many(raws: list[bytes]) -> list[Understood | None]:
    """A chunk of a batch in one round trip; None for a mail whose parsing failed."""
    out: list[Understood | None] = []
    for raw in raws:
        try:
            out.append(_in_worker(raw))
        except Exception:  # the loop parses it again and counts the failure
            out.append(None)
    return out


def _ping(_: object) -> None:
    """The worker's first job: it has started and imported the parser."""


# By name, as the parent asks for them.
JOBS: dict[str, Callable[[Any], Any]] = {
    "ping": _ping, "one": _in_worker, "many": _in_worker_many}
