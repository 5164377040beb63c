"""F11: directory rows of text (a CSV file, the config, `ticketbot company add`) checked and
matched by their natural key, then written in bulk: an idempotent upsert. A row that fails
a check is refused with its line and reason; it never blocks the others.

Natural keys: a company's name, a contact's addresses (else its Telegram id), a contract's
number, an object's name within its company, a piece of equipment's serial number."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.commands import ImportDirectory
from engine.context import Context
from engine.directory import ContractSpec, EquipmentSpec, ObjectSpec
from engine.directory_store import Checked, DirectoryStore, Lookups, Stored
from engine.errors import InvalidValue, NotAllowed
from engine.events import DirectoryImported

# The columns of each directory's CSV file (export writes them, import reads them); the
# first is the one every row needs, with `company` where an entry belongs to one.
COLUMNS: dict[str, tuple[str, ...]] = {
    "companies": ("name", "domains", "manager"),
    "contacts": ("name", "emails", "company", "telegram_id", "phone", "language", "manager"),
    "contracts": ("number", "company", "starts", "ends", "sla_policy", "manager"),
    "objects": ("name", "company", "address", "manager"),
    "equipment": ("serial", "model", "company", "object", "manager"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "companies": ("name",), "contacts": ("name",), "contracts": ("number", "company"),
    "objects": ("name", "company"), "equipment": ("serial", "company"),
}
# The languages of bot/i18n.py's catalogs.
_LANGUAGES = ("en", "ru")
_SPLIT = re.compile(r"[\s,;]+")
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[\d ()\-.]{5,32}")
_LIMITS = {"name": 200, "number": 100, "serial": 200, "model": 200, "sla_policy": 64,
           "address": 2000}


@dataclass(frozen=True)
class Row:
    line: int  # as the person counts it: a CSV file's header is line 1
    values: Mapping[str, str]


@dataclass(frozen=True)
class Refusal:
    line: int
    reason: str  # a `dir.refused.*` key of bot/i18n.py
    value: str = ""


@dataclass(frozen=True)
class ImportReport:
    kind: str
    added: int
    updated: int
    unchanged: int
    refused: tuple[Refusal, ...]
    ids: tuple[int, ...]  # the entry of each accepted row, in row order


class _Refused(Exception):
    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(reason)
        self.reason, self.value = reason, value


async def import_rows(store: DirectoryStore, kind: str, rows: Sequence[Row],
                      policies: Sequence[str] = ()) -> ImportReport:
    """Check every row, match it by its natural key, write what changed in bulk.
    `policies`: the SLA policy names a contract may name (empty: not checked)."""
    lookups = await store.lookups()
    stored = await store.existing(kind)
    check = _CHECKS[kind]
    refused: list[Refusal] = []
    seen: dict[Hashable, int] = {}
    accepted: list[tuple[Checked, Stored | None]] = []
    for row in rows:
        try:
            checked = check(row, lookups, tuple(policies))
            found = _match(kind, checked, stored)
            _no_repeat(checked, seen)
        except _Refused as exc:
            refused.append(Refusal(row.line, exc.reason, exc.value))
            continue
        accepted.append((checked if found is None else _given(checked, row, found), found))
    return await _write(store, kind, accepted, tuple(refused))


async def _write(store: DirectoryStore, kind: str,
                 accepted: list[tuple[Checked, Stored | None]],
                 refused: tuple[Refusal, ...]) -> ImportReport:
    inserts = [c for c, found in accepted if found is None]
    updates = [(found.id, c) for c, found in accepted
               if found is not None and not _same(c, found)]
    updates = [(i, c) for i, c in updates if c.values or c.emails]
    new_ids = iter(await store.write(kind, inserts, updates))
    ids = tuple(next(new_ids) if found is None else found.id for _, found in accepted)
    return ImportReport(kind=kind, added=len(inserts), updated=len(updates),
                        unchanged=len(accepted) - len(inserts) - len(updates),
                        refused=refused, ids=ids)


# The column of a row each stored value comes from, where the names differ.
_SOURCE = {"company_id": "company", "manager_id": "manager", "object_id": "object"}


def _given(checked: Checked, row: Row, found: Stored) -> Checked:
    """An update changes the columns the row has: a file without a `manager` column leaves
    every manager as it is. A contact without a company joins the company of its mail
    domain (as the mail intake does) when the row does not say otherwise."""
    values = {k: v for k, v in checked.values.items() if _SOURCE.get(k, k) in row.values}
    joins = checked.values.get("company_id")
    if "company" not in row.values and joins is not None and found.values.get(
            "company_id") is None and found.role == "client" and checked.emails:
        values["company_id"] = joins
    return replace(checked, values=values)


def _same(checked: Checked, found: Stored) -> bool:
    return all(found.values.get(k) == v for k, v in checked.values.items()) and (
        not checked.emails or checked.emails == found.emails)


def _match(kind: str, checked: Checked, stored: Mapping[Hashable, Stored]) -> Stored | None:
    if kind != "contacts":
        return stored.get(checked.key)
    keys = [("email", a) for a in checked.emails]
    if checked.values.get("telegram_id") is not None:
        keys.append(("telegram", checked.values["telegram_id"]))
    found = {stored[k].id: stored[k] for k in keys if k in stored}
    if len(found) > 1:
        raise _Refused("dir.refused.two_people", ", ".join(a for a in checked.emails))
    person = next(iter(found.values()), None)
    if person is not None and person.role != "client":
        raise _Refused("dir.refused.staff", checked.values["name"])
    return person


def _no_repeat(checked: Checked, seen: dict[Hashable, int]) -> None:
    keys = [("email", a) for a in checked.emails] if checked.emails else [checked.key]
    for key in keys:
        if key in seen:
            raise _Refused("dir.refused.repeated", str(seen[key]))
    for key in keys:
        seen[key] = checked.line


# --- one check per directory -----------------------------------------------------------------


def _text(row: Row, column: str) -> str:
    value = " ".join((row.values.get(column) or "").split())
    if len(value) > _LIMITS.get(column, 200):
        raise _Refused("dir.refused.too_long", column)
    return value


def _required(row: Row, kind: str) -> None:
    for column in _REQUIRED[kind]:
        if not _text(row, column):
            raise _Refused("dir.refused.missing", column)


def _company(row: Row, lookups: Lookups, *, required: bool = True) -> int | None:
    name = _text(row, "company")
    if not name and not required:
        return None
    found = lookups.companies.get(name.casefold())
    if found is None:
        raise _Refused("dir.refused.unknown_company", name)
    return found


def _manager(row: Row, lookups: Lookups) -> int | None:
    address = _text(row, "manager").lower()
    if not address:
        return None
    found = lookups.staff.get(address)
    if found is None:
        raise _Refused("dir.refused.not_staff", address)
    return found


def _date(row: Row, column: str) -> dt.date | None:
    value = _text(row, column)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _Refused("dir.refused.bad_date", value) from None


def _check_company(row: Row, lookups: Lookups, policies: tuple[str, ...]) -> Checked:
    _required(row, "companies")
    name = _text(row, "name")
    domains = tuple(dict.fromkeys(d.lower() for d in _SPLIT.split(_text(row, "domains")) if d))
    own = lookups.companies.get(name.casefold())
    for domain in domains:
        if "@" in domain or "." not in domain:
            raise _Refused("dir.refused.bad_domain", domain)
        holder = lookups.domains.get(domain)
        if holder is not None and holder != own:
            raise _Refused("dir.refused.domain_taken", domain)
    return Checked(row.line, name.casefold(), {"name": name, "domains": " ".join(domains),
                                                "manager_id": _manager(row, lookups)})


def _check_contact(row: Row, lookups: Lookups, policies: tuple[str, ...]) -> Checked:
    _required(row, "contacts")
    emails = tuple(dict.fromkeys(a.lower() for a in _SPLIT.split(_text(row, "emails")) if a))
    for address in emails:
        if not _ADDRESS.fullmatch(address) or len(address) > 320:
            raise _Refused("dir.refused.bad_address", address)
    telegram = _text(row, "telegram_id")
    if telegram and not telegram.lstrip("-").isdigit():
        raise _Refused("dir.refused.bad_telegram", telegram)
    if not emails and not telegram:
        raise _Refused("dir.refused.no_key")
    phone = _text(row, "phone")
    if phone and not _PHONE.fullmatch(phone):
        raise _Refused("dir.refused.bad_phone", phone)
    language = _text(row, "language").lower() or "en"
    if language not in _LANGUAGES:
        raise _Refused("dir.refused.bad_language", language)
    # No company named: the company of the first address's mail domain, as for a sender
    # the mail intake registers.
    company = _company(row, lookups, required=False) or next(
        (lookups.domains[a.rpartition("@")[2]] for a in emails
         if a.rpartition("@")[2] in lookups.domains), None)
    values: dict[str, Any] = {
        "name": _text(row, "name"), "company_id": company,
        "telegram_id": int(telegram) if telegram else None, "phone": phone or None,
        "language": language, "manager_id": _manager(row, lookups)}
    key = ("email", emails[0]) if emails else ("telegram", values["telegram_id"])
    return Checked(row.line, key, values, emails)


def _check_contract(row: Row, lookups: Lookups, policies: tuple[str, ...]) -> Checked:
    _required(row, "contracts")
    starts, ends = _date(row, "starts"), _date(row, "ends")
    if starts is not None and ends is not None and ends < starts:
        raise _Refused("dir.refused.ends_before_start", ends.isoformat())
    policy = _text(row, "sla_policy")
    if policy and policies and policy not in policies:
        raise _Refused("dir.refused.unknown_policy", policy)
    number = _text(row, "number")
    return Checked(row.line, number.casefold(), {
        "number": number, "company_id": _company(row, lookups), "starts": starts,
        "ends": ends, "sla_policy": policy or None, "manager_id": _manager(row, lookups)})


def _check_object(row: Row, lookups: Lookups, policies: tuple[str, ...]) -> Checked:
    _required(row, "objects")
    company, name = _company(row, lookups), _text(row, "name")
    return Checked(row.line, (company, name.casefold()), {
        "name": name, "company_id": company, "address": _text(row, "address"),
        "manager_id": _manager(row, lookups)})


def _check_equipment(row: Row, lookups: Lookups, policies: tuple[str, ...]) -> Checked:
    _required(row, "equipment")
    company = _company(row, lookups)
    assert company is not None  # required
    place = _text(row, "object")
    object_id = lookups.objects.get((company, place.casefold())) if place else None
    if place and object_id is None:
        raise _Refused("dir.refused.unknown_object", place)
    serial = _text(row, "serial")
    return Checked(row.line, serial.casefold(), {
        "serial": serial, "model": _text(row, "model"), "company_id": company,
        "object_id": object_id, "manager_id": _manager(row, lookups)})


_CHECKS: dict[str, Callable[[Row, Lookups, tuple[str, ...]], Checked]] = {
    "companies": _check_company, "contacts": _check_contact, "contracts": _check_contract,
    "objects": _check_object, "equipment": _check_equipment,
}


def unknown_columns(kind: str, header: Sequence[str]) -> list[str]:
    """Columns of a file that this directory does not have (the file is then refused as a
    whole: a misspelt column would otherwise clear that field on every row)."""
    return [h for h in header if h not in COLUMNS[kind]]


def missing_columns(kind: str, header: Sequence[str]) -> list[str]:
    return [c for c in _REQUIRED[kind] if c not in header]



async def import_directory(ctx: Context, cmd: ImportDirectory) -> None:
    """Staff only (the service's own shell counts as staff); the report is a desk event."""
    if ctx.actor is not None and not ctx.actor.role.is_staff:
        raise NotAllowed(action="directory", role=ctx.actor.role.value)
    if cmd.kind not in COLUMNS:
        raise InvalidValue(field="directory", value=cmd.kind, reason="not a directory",
                           choices=tuple(COLUMNS))
    rows = [Row(r.line, dict(r.values)) for r in cmd.rows]
    report = await import_rows(ctx.uow.directory, cmd.kind, rows, cmd.policies)
    ctx.record(DirectoryImported(
        actor=ctx.actor_id, at=ctx.at, channel=cmd.channel, directory=cmd.kind,
        added=report.added, updated=report.updated, unchanged=report.unchanged,
        refused=tuple((r.line, r.reason, r.value) for r in report.refused), ids=report.ids))


def declared_rows(contracts: Sequence[ContractSpec], objects: Sequence[ObjectSpec],
                  equipment: Sequence[EquipmentSpec]) -> tuple[tuple[str, tuple[Row, ...]], ...]:
    """The config's entries as rows, in the order they must be written (an object before
    the equipment on it); a row's `line` is its index in the config's list."""
    def text(value: object) -> str:
        return "" if value is None else str(value)

    return (
        ("contracts", tuple(Row(i, {"number": s.number, "company": s.company,
                                    "starts": text(s.starts), "ends": text(s.ends),
                                    "sla_policy": text(s.sla_policy),
                                    "manager": text(s.manager_email)})
                            for i, s in enumerate(contracts))),
        ("objects", tuple(Row(i, {"name": s.name, "company": s.company, "address": s.address,
                                  "manager": text(s.manager_email)})
                          for i, s in enumerate(objects))),
        ("equipment", tuple(Row(i, {"serial": s.serial, "model": s.model,
                                    "company": s.company, "object": text(s.object),
                                    "manager": text(s.manager_email)})
                            for i, s in enumerate(equipment))),
    )
