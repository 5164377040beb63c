"""What the engine needs to know of the installation; `config/` builds it from the TOML file."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.files import FileLimits


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
    # Size limits of the files of one message (`[files]`, engine/files.py).
    files: FileLimits = field(default_factory=FileLimits)
