"""How one inbound mail ended: stored with its row, so any mail's fate can be explained."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    status: str  # done | ignored
    ticket: int | None = None
    reason: str | None = None
    rule: str | None = None  # the threading rule, or noise / command / replay
