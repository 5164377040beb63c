"""Ticket types as the installation declares them (seed 003): which fields a type needs
before the work on it can go on, and whether its tickets are internal (opened by staff,
never shown to clients)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Ticket

# What a type may require, and the ticket attribute each one reads (`company`, `contract`,
# `object` and `equipment` are the directory's links, F11).
REQUIRABLE: dict[str, str] = {
    "due": "planned_resolution",
    "tags": "tags",
    "company": "company_id",
    "contract": "contract_id",
    "object": "object_id",
    "equipment": "equipment_id",
}


@dataclass(frozen=True)
class TicketType:
    name: str
    required: tuple[str, ...] = ()
    internal: bool = False

    def __post_init__(self) -> None:
        unknown = [f for f in self.required if f not in REQUIRABLE]
        if unknown:
            raise ValueError(f"type {self.name!r}: cannot require {unknown[0]!r}")


def type_named(types: tuple[TicketType, ...], name: str) -> TicketType:
    """The declared type `name`; a name declared only in the plain list (or no longer
    declared) is a public type that requires nothing."""
    return next((t for t in types if t.name == name), TicketType(name))


def missing(ticket: Ticket, kind: TicketType) -> tuple[str, ...]:
    """The fields `kind` requires that `ticket` does not have yet, in the declared order."""
    return tuple(f for f in kind.required if not getattr(ticket, REQUIRABLE[f]))
