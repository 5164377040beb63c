"""`[tickets] types`: a list of names, or `[[tickets.types]]` tables that also say which
fields a type requires and whether it is internal (seed 003)."""

from __future__ import annotations

from collections.abc import Mapping

from config.reader import ConfigError, Table
from engine.ticket_types import REQUIRABLE, TicketType

_TYPE = frozenset({"name", "required", "internal"})


def read_types(tickets: Table, default: tuple[str, ...]) -> tuple[TicketType, ...]:
    """Every declared type; plain names are public types that require nothing."""
    value = tickets.data.get("types")
    if value is None:
        return tuple(TicketType(name) for name in default)
    key = f"{tickets.path}.types"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        types = tuple(TicketType(_name(v, key)) for v in value)
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        types = tuple(_type(Table(v, f"{key}[{i}]", _TYPE)) for i, v in enumerate(value))
    else:
        raise ConfigError(f"{key}: expected a list of names, or [[tickets.types]] tables "
                          f"with name, required and internal")
    names = [t.name for t in types]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise ConfigError(f"{key}: the type {twice!r} is declared twice")
    return types


def _name(value: str, key: str) -> str:
    # `/type N name` takes one word.
    if not value or value.split() != [value]:
        raise ConfigError(f"{key}: a type name is one word, got {value!r}")
    return value


def _type(t: Table) -> TicketType:
    required = t.strings("required")
    unknown = next((f for f in required if f not in REQUIRABLE), None)
    if unknown is not None:
        raise ConfigError(f"{t.path}.required: {unknown!r} cannot be required (known: "
                          f"{', '.join(REQUIRABLE)})")
    return TicketType(_name(t.text("name", ""), f"{t.path}.name"),
                      tuple(dict.fromkeys(required)), t.flag("internal", False))


def check_default(types: tuple[TicketType, ...], default: str, key: str) -> None:
    """Mail and chat open tickets of the default type for clients: it cannot be internal."""
    if any(t.name == default and t.internal for t in types):
        raise ConfigError(f"{key}: {default!r} is an internal type; the default type is the "
                          f"one clients' tickets get")
