"""`[[desks]]` and `[routing]` read into the engine's `Desks` and `Routing` once, when the
settings load, checked against the people, companies, ticket types and priorities.

    [[desks]]                       # the first desk is the default
    name = "support"
    addresses = ["support@acme.example"]   # mail to these reaches this desk
    staff_chat_id = -1001234567     # its staff chat (default: telegram.staff_chat_id)
    specialists = ["sam@desk.example"]     # staff, by address or @username
    leads = ["lena@desk.example"]   # hear of every new ticket of this desk
    calendar = "office"             # an [sla.calendars] name: its deadlines' hours
    sla_policies = ["standard"]     # the [[sla.policies]] its tickets may get (first: default)

    [routing.deadlines]             # when no [[sla.policies]] are configured
    urgent = "4h"                   # business time: "30m", "4h", "3d" (a day is 9 hours)
    high = "1d"

    [[routing.rules]]               # in order, first match wins
    name = "acme-manager"
    when = { company = ["Acme"], subject = ["invoice", "счёт"] }
    then = { responsible = "manager of company", desk = "billing", priority = "high" }

Conditions (`when`; every one given must hold, any value of a list will do): mailbox (the
address the mail came to), chat (a chat id), company, contact (the requester's address),
object (a service object id), type, tag, subject (keywords, case-insensitive). Actions
(`then`): responsible (an address, "@username", or "manager of company|contact|object"),
observers, type, priority, tags, desk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from config.reader import ConfigError, Table
from engine.desks import Desk, Desks
from engine.directory import CompanySpec, PersonSpec
from engine.model import Role
from engine.routing import (
    DEFAULT_DEADLINES,
    Actions,
    Conditions,
    ManagerOf,
    Routing,
    RoutingRule,
    bare_address,
    normal,
)
from engine.settings import EngineSettings

_DESK = frozenset({"name", "addresses", "staff_chat_id", "specialists", "leads", "calendar",
                   "sla_policies"})
_ROUTING = frozenset({"rules", "deadlines"})
_RULE = frozenset({"name", "when", "then"})
_WHEN = frozenset({"mailbox", "chat", "company", "contact", "object", "type", "tag",
                   "subject"})
_THEN = frozenset({"responsible", "observers", "type", "priority", "tags", "desk"})
_MANAGER = re.compile(r"manager\s+of\s+(\w+)", re.IGNORECASE)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([mhd])")
DAY_MINUTES = 540  # a business day of deadlines (Ticket24's "1 day" on 09:00-18:00)


class _People:
    """Staff looked up by address or @username, as config values name them."""

    def __init__(self, people: Sequence[PersonSpec]) -> None:
        self.by_key: dict[str, PersonSpec] = {}
        for p in people:
            for address in p.emails:
                self.by_key[address.lower()] = p
            if p.username:
                self.by_key["@" + p.username.lstrip("@").casefold()] = p

    def address(self, value: str, path: str, *, staff: bool = True) -> str:
        key = value.strip().lower() if "@" in value.strip()[1:] else \
            "@" + value.strip().lstrip("@").casefold()
        person = self.by_key.get(key)
        if person is None:
            raise ConfigError(f"{path}: no declared person is {value!r}")
        if staff and not Role(person.role).is_staff:
            raise ConfigError(f"{path}: {value!r} is a client, not staff")
        if not person.emails:
            raise ConfigError(f"{path}: {value!r} has no address to be found by")
        return person.emails[0]


def with_routing(engine: EngineSettings, data: Mapping[str, Any],
                 people: Sequence[PersonSpec], companies: Sequence[CompanySpec],
                 support_address: str, staff_chat_id: int | None) -> EngineSettings:
    """`engine` with the desks and the routing rules of the file's `data`."""
    known = _People(people)
    desks = _desks(data.get("desks", []), known, support_address, staff_chat_id)
    root = Table(_section(data, "routing"), "routing", _ROUTING)
    rules = tuple(_rule(t, engine, known, [c.name for c in companies], desks)
                  for t in root.tables("rules", _RULE))
    names = [r.name for r in rules]
    duplicate = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if duplicate is not None:
        raise ConfigError(f"routing.rules: the name {duplicate!r} is used twice")
    deadlines = _deadlines(root, engine)
    return replace(engine, desks=desks, routing=Routing(rules=rules, deadlines=deadlines))


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a table, got {value!r}")
    return value


# ---------------------------------------------------------------- desks

def _desks(value: object, known: _People, support_address: str,
           staff_chat_id: int | None) -> Desks:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError("desks: expected an array of tables ([[desks]])")
    desks = [_desk(Table(v, f"desks[{i}]", _DESK), known) for i, v in enumerate(value)]
    if not desks:
        return Desks()
    seen: dict[object, str] = {}
    for i, desk in enumerate(desks):
        for key in (("name", desk.name.casefold()),
                    *(("address", a) for a in desk.addresses)):
            if key in seen:
                raise ConfigError(f"desks[{i}]: {key[0]} {key[1]!r} is already {seen[key]}'s")
            seen[key] = desk.name
    # The default desk answers the support address and the `[telegram]` staff chat unless
    # it says otherwise: a config that only adds desks changes nothing for the first.
    first = desks[0]
    support = bare_address(support_address)
    if ("address", support) not in seen:
        first = replace(first, addresses=(support, *first.addresses))
    if first.staff_chat_id is None:
        first = replace(first, staff_chat_id=staff_chat_id)
    return Desks(desks=(first, *desks[1:]))


def _desk(t: Table, known: _People) -> Desk:
    name = t.text("name", "").strip()
    if not name or len(name) > 64 or any(ch.isspace() for ch in name):
        raise ConfigError(f"{t.path}.name: every desk needs a one-word name (at most 64 "
                          f"characters), got {name!r}")
    addresses = tuple(bare_address(a) for a in t.strings("addresses"))
    bad = next((a for a in addresses if "@" not in a), None)
    if bad is not None:
        raise ConfigError(f"{t.path}.addresses: expected addresses like billing@example.com, "
                          f"got {bad!r}")
    return Desk(
        name=name, addresses=addresses, staff_chat_id=t.opt_whole("staff_chat_id"),
        specialists=tuple(known.address(p, f"{t.path}.specialists")
                          for p in t.strings("specialists")),
        leads=tuple(known.address(p, f"{t.path}.leads") for p in t.strings("leads")),
        calendar=t.opt_text("calendar"), sla_policies=t.strings("sla_policies"))


# ---------------------------------------------------------------- rules

def _listed(t: Table, key: str) -> tuple[str, ...]:
    """A condition or action given as one string or a list of them."""
    value = t.data.get(key)
    if isinstance(value, str):
        return (value,)
    return t.strings(key)


def _check(values: Sequence[str], known: Sequence[str], path: str) -> frozenset[str]:
    unknown = next((v for v in values if v not in known), None)
    if unknown is not None:
        raise ConfigError(f"{path}: unknown {unknown!r} (known: {', '.join(known) or 'none'})")
    return frozenset(values)


def _ids(t: Table, key: str) -> frozenset[int]:
    value = t.data.get(key, [])
    values = [value] if isinstance(value, int) else value
    if not isinstance(values, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{t.path}.{key}: expected whole numbers (ids), got {value!r}")
    return frozenset(values)


def _rule(t: Table, engine: EngineSettings, known: _People, companies: Sequence[str],
          desks: Desks) -> RoutingRule:
    name = t.text("name", "").strip()
    if not name:
        raise ConfigError(f"{t.path}.name: every rule needs a name (the history names it)")
    when = t.table("when", _WHEN)
    then = t.table("then", _THEN)
    conditions = Conditions(
        mailboxes=frozenset(bare_address(a) for a in _listed(when, "mailbox")),
        chats=_ids(when, "chat"),
        companies=_check(_listed(when, "company"), companies, f"{when.path}.company"),
        contacts=frozenset(a.strip().lower() for a in _listed(when, "contact")),
        objects=_ids(when, "object"),
        types=_check(_listed(when, "type"), engine.types, f"{when.path}.type"),
        tags=frozenset(x.strip().lower() for x in _listed(when, "tag")),
        keywords=tuple(normal(k) for k in _listed(when, "subject") if k.strip()))
    return RoutingRule(name=name, when=conditions,
                       then=_actions(then, engine, known, desks))


def _actions(t: Table, engine: EngineSettings, known: _People, desks: Desks) -> Actions:
    responsible, manager = None, None
    who = t.opt_text("responsible")
    if who is not None:
        match = _MANAGER.fullmatch(who.strip())
        if match is not None:
            kinds = [k.value for k in ManagerOf]
            if match.group(1).lower() not in kinds:
                raise ConfigError(f"{t.path}.responsible: manager of what? one of "
                                  f"{', '.join(kinds)}, got {who!r}")
            manager = ManagerOf(match.group(1).lower())
        else:
            responsible = known.address(who, f"{t.path}.responsible")
    desk_name = t.opt_text("desk")
    desk = None if desk_name is None else desks.named(desk_name)
    if desk_name is not None and desk is None:
        raise ConfigError(f"{t.path}.desk: no desk named {desk_name!r} "
                          f"(known: {', '.join(desks.names) or 'none; declare [[desks]]'})")
    kind = t.opt_text("type")
    priority = t.opt_text("priority")
    if kind is not None:
        _check([kind], engine.types, f"{t.path}.type")
    if priority is not None:
        _check([priority], engine.priorities, f"{t.path}.priority")
    return Actions(
        responsible=responsible, manager_of=manager,
        observers=tuple(known.address(p, f"{t.path}.observers", staff=False)
                        for p in _listed(t, "observers")),
        type=kind, priority=priority,
        tags=tuple(dict.fromkeys(x.strip().lower() for x in _listed(t, "tags") if x.strip())),
        desk=None if desk is None else desk.name)


# ---------------------------------------------------------------- deadlines by priority

def _deadlines(root: Table, engine: EngineSettings) -> tuple[tuple[str, int], ...]:
    value = root.data.get("deadlines", {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"routing.deadlines: expected a table of priority = \"1d\", "
                          f"got {value!r}")
    found = dict(DEFAULT_DEADLINES)
    for priority, text in value.items():
        path = f"routing.deadlines.{priority}"
        if priority not in engine.priorities:
            raise ConfigError(f"{path}: unknown priority (known: "
                              f"{', '.join(engine.priorities)})")
        found[priority] = _minutes(text, path)
    return tuple(found.items())


def _minutes(text: object, path: str) -> int:
    """"30m", "4h", "3d" (a day of 9 business hours), or a whole number of days."""
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text * DAY_MINUTES
    match = _DURATION.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    minutes = 0 if match is None else round(float(match.group(1)) * {
        "m": 1, "h": 60, "d": DAY_MINUTES}[match.group(2)])
    if minutes <= 0:
        raise ConfigError(f"{path}: expected business time like \"4h\" or \"3d\", got {text!r}")
    return minutes
