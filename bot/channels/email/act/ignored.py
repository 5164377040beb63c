"""What the intake left alone, for staff: each ignored mail's kind (bounce, auto-reply, ...),
its sender and subject, read back from the stored row (the `MailIgnored` desk event holds
the same reason and rule)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.channels.email.understand.parse import parse_mail
from engine.inbox import InboundRow

# Noise kinds as `Fate` writes them ("bounce: ..."), in the order staff read them.
KINDS = ("bounce", "auto_reply", "list", "feedback_report", "notification", "challenge",
         "own_loop")
OTHER = "other"  # a refused command or vote, a replay: not machine mail


@dataclass(frozen=True)
class IgnoredMail:
    id: int
    received_at: str
    kind: str
    sender: str
    subject: str
    reason: str


def kind_of(row: InboundRow) -> str:
    kind = (row.reason or "").partition(":")[0]
    return kind if row.rule == "noise" and kind in KINDS else OTHER


def describe(row: InboundRow) -> IgnoredMail:
    mail = parse_mail(row.raw or b"")
    return IgnoredMail(row.id, row.received_at.isoformat(timespec="minutes"), kind_of(row),
                       mail.from_addr or "?", mail.subject, row.reason or "")


def counts(rows: Sequence[InboundRow]) -> dict[str, int]:
    """How many of each kind, in KINDS order, then `other`; kinds with none left out."""
    found = Counter(kind_of(row) for row in rows)
    return {kind: found[kind] for kind in (*KINDS, OTHER) if found[kind]}
