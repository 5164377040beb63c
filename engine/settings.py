"""What the engine needs to know of the installation; `config/` builds it from the TOML file."""

from __future__ import annotations

from dataclasses import dataclass

from engine.ticket_types import TicketType


@dataclass(frozen=True)
class EngineSettings:
    types: tuple[str, ...] = ("question", "incident", "request")
    default_type: str = "question"
    priorities: tuple[str, ...] = ("low", "normal", "high", "urgent")
    default_priority: str = "normal"
    ticket_prefix: str = "#"
    language: str = "en"
    # A specialist's public answer waits this long in the outbox, so `/undo` can take it
    # back before the client reads it (0: sent at once).
    answer_grace_seconds: int = 30
    # The declared types with their required fields and whether they are internal (seed
    # 003); a name in `types` without an entry here is public and requires nothing.
    type_specs: tuple[TicketType, ...] = ()
