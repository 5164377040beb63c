"""What the engine needs to know of the installation; `config/` builds it from the TOML file."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.desks import Desks
from engine.files import FileLimits
from engine.routing import Routing
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
    # F12 routing rules and the desks (F17), from `[routing]` and `[[desks]]`.
    routing: Routing = Routing()
    desks: Desks = Desks()
    # Size limits of the files of one message (`[files]`, engine/files.py).
    files: FileLimits = field(default_factory=FileLimits)
