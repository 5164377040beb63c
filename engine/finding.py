"""F17 finding things: what a search hit and a queue view are, for every channel.

The SQL lies in `engine/store/search_sql.py` and `engine/store/queue_sql.py`; channels reach
them through `engine.views.Views` (`search`, `queue`), which apply the F3 visibility rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.model import Status, Ticket

FIND_LIMIT = 10
QUEUE_LIMIT = 20


@dataclass(frozen=True)
class Hit:
    """One ticket a search found: its number, subject, status and a line of its text."""

    number: int
    subject: str
    status: Status
    snippet: str


class QueueView(StrEnum):
    """Which unfinished tickets `/queue` lists, oldest first."""

    UNASSIGNED = "unassigned"
    ALL = "all"
    OVERDUE = "overdue"
    MINE = "mine"
    PERSON = "person"  # `@who`: one person's tickets


@dataclass(frozen=True)
class Queue:
    """The first QUEUE_LIMIT tickets of a view, and how many it holds in all."""

    tickets: tuple[Ticket, ...]
    total: int
