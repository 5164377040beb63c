"""F11's port: the directories as the engine reads and writes them (companies, contacts,
contracts, service objects, equipment). `engine/store/directory_sql.py` implements it."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.directory import Card

# Every directory, as the CLI and the CSV files name it.
KINDS = ("companies", "contacts", "contracts", "objects", "equipment")
# What a ticket links to, by the command's word (`/link N contract ID`) -> directory.
LINKABLE = {"contract": "contracts", "object": "objects", "equipment": "equipment"}


@dataclass(frozen=True)
class Stored:
    """An entry as stored, for matching a row against it: its id and column values."""

    id: int
    values: dict[str, Any]
    emails: tuple[str, ...] = ()  # contacts only
    role: str = "client"  # contacts only: a staff person is no contact to import over


@dataclass(frozen=True)
class Lookups:
    """What rows refer to by name: companies by name, staff by address (managers), objects
    by (company id, name), and every company's mail domains."""

    companies: dict[str, int]
    staff: dict[str, int]
    objects: dict[tuple[int, str], int]
    domains: dict[str, int]


@dataclass(frozen=True)
class Checked:
    """A row that passed its checks: the table's values, and a contact's addresses."""

    line: int
    key: Hashable
    values: dict[str, Any]
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class TicketFilter:
    """Tickets by what they link to; None fields do not filter."""

    company_id: int | None = None
    contact_id: int | None = None  # the requester
    responsible_id: int | None = None
    contract_id: int | None = None
    object_id: int | None = None
    equipment_id: int | None = None
    status: str | None = None
    limit: int | None = None


def filter_by(kind: str, entry: int, limit: int | None = None) -> TicketFilter:
    """Tickets linked to one entry of `kind` (a directory, or "responsible": a person)."""
    return TicketFilter(
        company_id=entry if kind == "companies" else None,
        contact_id=entry if kind == "contacts" else None,
        responsible_id=entry if kind == "responsible" else None,
        contract_id=entry if kind == "contracts" else None,
        object_id=entry if kind == "objects" else None,
        equipment_id=entry if kind == "equipment" else None, limit=limit)


class DirectoryReader(Protocol):
    """What channels read (engine/views.py `Reading.directory`) and handlers too."""

    async def resolve(self, kind: str, text: str) -> list[int]:
        """Entries `text` names exactly: `12`/`#12` an id, else the natural key (a
        company's name, a contract's number, a serial, an object's name, a contact's
        address or phone), case-insensitively."""
        ...
    async def search(self, kind: str, text: str, limit: int) -> list[int]:
        """`resolve`, else entries whose name, address or phone contains `text`."""
        ...
    async def cards(self, kind: str, ids: Sequence[int]) -> list[Card]: ...
    async def company_of(self, kind: str, entry_id: int) -> int | None:
        """The company an entry belongs to (a contact's may be None)."""
        ...
    async def manager_of(self, kind: str, entry_id: int) -> int | None:
        """The responsible manager (a staff person id) of a directory entry, if any:
        routing (F12) reads it for a ticket's contact, object, contract or equipment."""
        ...
    async def ticket_numbers(self, where: TicketFilter) -> list[int]: ...
    async def rows(self, kind: str) -> list[dict[str, str]]:
        """Every entry as a CSV row (the import's columns), for export."""
        ...


class DirectoryStore(DirectoryReader, Protocol):
    async def lookups(self) -> Lookups: ...
    async def existing(self, kind: str) -> dict[Hashable, Stored]:
        """Every entry of `kind` by its natural key (a contact under each address as
        ("email", a) and its Telegram id as ("telegram", id))."""
        ...
    async def write(self, kind: str, inserts: Sequence[Checked],
                    updates: Sequence[tuple[int, Checked]]) -> list[int]:
        """Insert and update in bulk; the new ids, in the order of `inserts`."""
        ...
