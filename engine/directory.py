"""The directory an installation declares (staff, known clients, companies): plain values
that the config builds and the store writes, matched by stable keys, never by names."""

from __future__ import annotations

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


@dataclass(frozen=True)
class CompanySpec:
    name: str
    domains: tuple[str, ...] = ()
    manager_email: str | None = None
