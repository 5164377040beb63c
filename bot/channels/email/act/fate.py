"""How one inbound mail ended (its fate): stored with its row, so any mail's fate can be explained."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fate:
    status: str  # done | ignored
    ticket: int | None = None
    reason: str | None = None
    rule: str | None = None  # the threading rule, or noise / command / replay
    # The sender, when the intake knew them: the actor of an ignored mail's `MailIgnored`.
    person: int | None = None
