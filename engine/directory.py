"""The directory an installation declares (staff, known clients, companies, and F11's
contracts, service objects and equipment): plain values that the config builds and the
store writes, matched by stable keys, never by names; and the card a directory entry is
shown as."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class PersonSpec:
    name: str
    role: str  # a `Role` value
    emails: tuple[str, ...] = ()
    telegram_id: int | None = None
    company: str | None = None  # a CompanySpec name
    language: str = "en"
    notify_via: str = "auto"
    username: str | None = None
    phone: str | None = None
    manager_email: str | None = None  # the contact's responsible manager (F11)


@dataclass(frozen=True)
class CompanySpec:
    name: str
    domains: tuple[str, ...] = ()
    manager_email: str | None = None


# --- F11: the other directories; each row names its company and, optionally, a manager ------


@dataclass(frozen=True)
class ContractSpec:
    number: str
    company: str
    starts: dt.date | None = None
    ends: dt.date | None = None
    sla_policy: str | None = None
    manager_email: str | None = None


@dataclass(frozen=True)
class ObjectSpec:
    """A service object: a site or an address of a company (its name is unique there)."""

    name: str
    company: str
    address: str = ""
    manager_email: str | None = None


@dataclass(frozen=True)
class EquipmentSpec:
    serial: str
    company: str
    model: str = ""
    object: str | None = None  # an ObjectSpec name of the same company
    manager_email: str | None = None


@dataclass(frozen=True)
class Card:
    """One directory entry as staff read it (`/company X`, `ticketbot contact show`):
    `facts` are (field, value) pairs, the field an i18n key under `dir.field.`."""

    kind: str  # companies, contacts, contracts, objects, equipment
    id: int
    title: str
    company_id: int | None = None
    company: str | None = None
    manager_id: int | None = None
    manager: str | None = None
    facts: tuple[tuple[str, str], ...] = ()
    open_tickets: int = 0
