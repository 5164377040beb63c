"""F11 in the config file: `[[contracts]]`, `[[objects]]` and `[[equipment]]`, read into
specs and checked against the declared companies, people and objects, so the sync at
start-up (engine/store/directory_seed.py) has nothing left to refuse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from config.reader import ConfigError, Table
from engine.directory import CompanySpec, ContractSpec, EquipmentSpec, ObjectSpec, PersonSpec

CONTRACT = frozenset({"number", "company", "starts", "ends", "sla_policy", "manager"})
OBJECT = frozenset({"name", "company", "address", "manager"})
EQUIPMENT = frozenset({"serial", "model", "company", "object", "manager"})


def _needed(t: Table, key: str) -> str:
    value = t.text(key, "").strip()
    if not value:
        raise ConfigError(f"{t.path}.{key}: required")
    return value


def _date(t: Table, key: str) -> dt.date | None:
    value = t.data.get(key)
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{t.path}.{key}: expected a date (2026-01-31), got {value!r}")


def _manager(t: Table) -> str | None:
    value = t.opt_text("manager")
    return None if value is None else value.lower()


def contract(t: Table) -> ContractSpec:
    spec = ContractSpec(number=_needed(t, "number"), company=_needed(t, "company"),
                        starts=_date(t, "starts"), ends=_date(t, "ends"),
                        sla_policy=t.opt_text("sla_policy"), manager_email=_manager(t))
    if spec.starts and spec.ends and spec.ends < spec.starts:
        raise ConfigError(f"{t.path}.ends: before starts ({spec.starts.isoformat()})")
    return spec


def service_object(t: Table) -> ObjectSpec:
    return ObjectSpec(name=_needed(t, "name"), company=_needed(t, "company"),
                      address=t.text("address", ""), manager_email=_manager(t))


def equipment(t: Table) -> EquipmentSpec:
    return EquipmentSpec(serial=_needed(t, "serial"), company=_needed(t, "company"),
                         model=t.text("model", ""), object=t.opt_text("object"),
                         manager_email=_manager(t))


def check(people: Sequence[PersonSpec], companies: Sequence[CompanySpec],
          contracts: Sequence[ContractSpec], objects: Sequence[ObjectSpec],
          equipment: Sequence[EquipmentSpec]) -> None:
    """Every company named is declared, every manager a declared staff member, every
    object of a piece of equipment an object of its company, every key given once."""
    names = {c.name for c in companies}
    staff = {e for p in people if p.role != "client" for e in p.emails}
    places = {(o.company, o.name) for o in objects}
    entries: list[tuple[str, str, str | None, tuple[object, ...]]] = [
        *((f"contracts[{i}]", s.company, s.manager_email, ("contract", s.number.casefold()))
          for i, s in enumerate(contracts)),
        *((f"objects[{i}]", s.company, s.manager_email, ("object", s.company, s.name.casefold()))
          for i, s in enumerate(objects)),
        *((f"equipment[{i}]", s.company, s.manager_email, ("serial", s.serial.casefold()))
          for i, s in enumerate(equipment))]
    seen: dict[object, str] = {}
    for path, company, manager, key in entries:
        if company not in names:
            raise ConfigError(f"{path}.company: no company named {company!r}")
        if manager is not None and manager not in staff:
            raise ConfigError(f"{path}.manager: no declared staff member has the address "
                              f"{manager!r}")
        if key in seen:
            raise ConfigError(f"{path}: {key[-1]!r} is already given to {seen[key]}")
        seen[key] = path
    for i, item in enumerate(equipment):
        if item.object is not None and (item.company, item.object) not in places:
            raise ConfigError(f"equipment[{i}].object: {item.company} has no object named "
                              f"{item.object!r}")
    for i, person in enumerate(people):
        if person.manager_email is not None and person.manager_email not in staff:
            raise ConfigError(f"people[{i}].manager: no declared staff member has the "
                              f"address {person.manager_email!r}")
