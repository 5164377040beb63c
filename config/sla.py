"""The `[sla]` section read into calendars, policies and rules once, when the settings load
(`config/settings.py` holds the result as `Settings.sla`).

    [sla]
    default_policy = "normal"     # optional: the first policy otherwise
    staff_calendar = "office"     # whose hours hold alerts; the default policy's otherwise
    warn_at_percent = 75          # default of every policy; or warn_minutes = 60

    [sla.staff_calendars]         # a staff member's own hours hold the alerts meant for them
    "sam@desk.example" = "late"

    [sla.calendars.office]
    tz = "Europe/Moscow"
    country = "RU"                # public holidays and transferred workdays; "" for none
    hours = { mon = "09:00-13:00,14:00-18:00", tue = "09:00-18:00" }   # missing days are off
    holidays = ["2026-01-12"]     # extra days off
    workdays = ["2026-01-10"]     # extra working days (Monday's hours unless workday_hours)

    [[sla.policies]]
    name = "vip"
    calendar = "office"
    first_response_minutes = 30
    resolution_minutes = 480
    next_response_minutes = 60    # optional

    [[sla.rules]]                 # in order, first match wins; empty lists match anything
    policy = "vip"
    types = ["incident"]
    priorities = ["high", "urgent"]
    companies = ["Acme"]          # declared [[companies]]

`[sla.metrics]` and `[sla.ratings]` are read by `config/metrics.py` into the same object.

With no `[sla]` section: one RU calendar, Mon-Fri 09:00-18:00 Europe/Moscow, and Ticket24's
deadlines by priority (high 1 day, normal 3, low 5). Every error names the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from config.metrics import (
    DEFAULT_FALLBACKS,
    Fallbacks,
    MetricsSettings,
    parse_metrics,
    parse_ratings,
)
from config.reader import ConfigError, Table
from engine.ratings import RatingSettings
from engine.settings import EngineSettings
from engine.sla.calendar import WEEKDAYS, BusinessCalendar, build_calendar, parse_interval
from engine.sla.policy import SlaPolicies, SlaPolicy, SlaRule, ticket24_policies

_SLA = frozenset({"enabled", "default_policy", "staff_calendar", "staff_calendars",
                  "warn_at_percent",
                  "warn_minutes", "scan_seconds", "calendars", "policies", "rules", "metrics",
                  "ratings"})
_CALENDAR = frozenset({"tz", "country", "hours", "holidays", "workdays", "workday_hours"})
_POLICY = frozenset({"name", "calendar", "first_response_minutes", "resolution_minutes",
                     "next_response_minutes", "warn_at_percent", "warn_minutes"})
_RULE = frozenset({"policy", "types", "priorities", "companies"})

DEFAULT_CALENDAR = "default"
DEFAULT_HOURS = dict.fromkeys(WEEKDAYS[:5], "09:00-18:00")


@dataclass(frozen=True)
class SlaConfig:
    policies: SlaPolicies
    staff_calendar: BusinessCalendar
    enabled: bool = True
    scan_seconds: int = 30
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    ratings: RatingSettings = field(default_factory=RatingSettings)
    # `[sla.staff_calendars]`: a staff member's own hours (by mail address), which hold
    # the SLA alerts meant for them; everybody else follows `staff_calendar`.
    person_calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    # Each desk's own choice of policies (`[[desks]] calendar`, `sla_policies`), by desk
    # name; a desk not here (and every ticket of a desk-less setup) uses `policies`.
    desk_policies: Mapping[str, SlaPolicies] = field(default_factory=dict)

    def policies_of(self, desk: str | None) -> SlaPolicies:
        return self.desk_policies.get(desk or "", self.policies)

    @property
    def business_calendar(self) -> BusinessCalendar:
        """Business time in reports is measured on the default policy's calendar."""
        return self.policies.get(self.policies.default).calendar


@dataclass(frozen=True)
class _Warn:
    percent: int
    minutes: int | None


@cache
def default_sla() -> SlaConfig:
    """The embedded default, built once: its calendar reads a few years of public holidays."""
    return parse_sla({})


def parse_sla(raw: Mapping[str, Any], engine: EngineSettings | None = None,
              companies: Iterable[str] = (), fallbacks: Fallbacks = DEFAULT_FALLBACKS) -> SlaConfig:
    """`[sla]` checked against the ticket types and priorities and the declared companies."""
    # Taken once: every rule checks its companies against the same names (a generator
    # would be used up by the first rule).
    known = tuple(sorted(set(companies)))
    root = Table(raw, "sla", _SLA)
    calendars = _calendars(raw.get("calendars", {}))
    warn = _Warn(_percent(root, 75), root.opt_whole("warn_minutes"))
    engine = engine or EngineSettings()
    policies, example_rules = _policies(root, calendars, warn, engine)
    rules = tuple(_rule(t, policies, engine, known)
                  for t in root.tables("rules", _RULE))
    registry = _registry(root, policies, rules + example_rules)
    registry, by_desk = desk_policies(engine, registry, calendars, warn,
                                      configured=bool(root.tables("policies", _POLICY)))
    return SlaConfig(
        desk_policies=by_desk, policies=registry, staff_calendar=_staff_calendar(root, calendars, registry),
        enabled=root.flag("enabled", True), scan_seconds=root.whole("scan_seconds", 30, 1),
        metrics=parse_metrics(root, fallbacks), ratings=parse_ratings(root, fallbacks),
        person_calendars=_person_calendars(raw.get("staff_calendars", {}), calendars))


def _person_calendars(value: object,
                      calendars: dict[str, BusinessCalendar]) -> dict[str, BusinessCalendar]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"sla.staff_calendars: expected a table of address = calendar, "
                          f"got {value!r}")
    found = {}
    for address, name in value.items():
        if name not in calendars:
            raise ConfigError(f"sla.staff_calendars.{address}: no calendar named {name!r} "
                              f"(known: {', '.join(sorted(calendars))})")
        found[str(address).lower()] = calendars[name]
    return found


# ---------------------------------------------------------------- calendars

def _calendars(value: object) -> dict[str, BusinessCalendar]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"sla.calendars: expected a table of calendars, got {value!r}")
    if not value:
        return {DEFAULT_CALENDAR: _calendar(Table({}, "sla.calendars.default", _CALENDAR),
                                            DEFAULT_CALENDAR)}
    return {name: _calendar(_table(v, f"sla.calendars.{name}", _CALENDAR), name)
            for name, v in value.items()}


def _table(value: object, path: str, known: frozenset[str]) -> Table:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a table, got {value!r}")
    return Table(value, path, known)


def _calendar(t: Table, name: str) -> BusinessCalendar:
    # Read every key first: ConfigError is a ValueError and must not be caught below.
    hours, tz, country = _hours(t), t.text("tz", "Europe/Moscow"), t.text("country", "RU")
    holidays, workdays = t.strings("holidays"), t.strings("workdays")
    workday_hours = _day(t, "workday_hours") if "workday_hours" in t.data else None
    try:
        return build_calendar(name, tz, hours, country=country or None,
                              extra_holidays=holidays, extra_workdays=workdays,
                              workday_hours=workday_hours)
    except ValueError as exc:
        raise ConfigError(f"{t.path}: {exc}") from None


def _hours(t: Table) -> dict[str, list[str]]:
    days = t.table("hours", frozenset(WEEKDAYS)) if "hours" in t.data else None
    if days is None:
        return {day: [text] for day, text in DEFAULT_HOURS.items()}
    return {day: _day(days, day) for day in days.data}


def _day(t: Table, key: str) -> list[str]:
    """'09:00-13:00,14:00-18:00' (or a list of such) -> checked intervals; '' is a day off."""
    value = t.data[key]
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
        raise ConfigError(f"{t.path}.{key}: expected \"HH:MM-HH:MM,HH:MM-HH:MM\", got {value!r}")
    parts = [p.strip() for p in parts if p.strip()]
    for part in parts:
        try:
            parse_interval(part)
        except ValueError as exc:
            raise ConfigError(f"{t.path}.{key}: {exc}") from None
    return parts


# ---------------------------------------------------------------- policies and rules

def _percent(t: Table, default: int) -> int:
    value = t.whole("warn_at_percent", default, 1)
    if value > 99:
        raise ConfigError(f"{t.path}.warn_at_percent: must be at most 99, got {value}")
    return value


def _policies(root: Table, calendars: dict[str, BusinessCalendar], warn: _Warn,
              engine: EngineSettings) -> tuple[tuple[SlaPolicy, ...], tuple[SlaRule, ...]]:
    """The configured policies; with none, the deadlines by priority (`[routing.deadlines]`,
    Ticket24's by default), whose rules then follow any configured ones."""
    tables = root.tables("policies", _POLICY)
    if tables:
        return tuple(_policy(t, calendars, warn) for t in tables), ()
    return _by_priority(next(iter(calendars.values())), warn, engine)


def _by_priority(calendar: BusinessCalendar, warn: _Warn, engine: EngineSettings,
                 prefix: str = "") -> tuple[tuple[SlaPolicy, ...], tuple[SlaRule, ...]]:
    example = ticket24_policies(calendar, deadlines=engine.routing.deadlines, prefix=prefix)
    policies = tuple(replace(p, warn_at_percent=warn.percent, warn_minutes=warn.minutes)
                     for p in example.policies)
    return policies, example.rules


def desk_policies(engine: EngineSettings, registry: SlaPolicies,
                  calendars: dict[str, BusinessCalendar], warn: _Warn, *,
                  configured: bool) -> tuple[SlaPolicies, dict[str, SlaPolicies]]:
    """Each desk's policies: the configured ones it lists (its rules, the first listed as
    its default), or, with no configured policies, the deadlines by priority on the desk's
    own calendar (named `desk:priority`, added to the registry so stored names resolve)."""
    by_desk: dict[str, SlaPolicies] = {}
    extra: list[SlaPolicy] = []
    names = [p.name for p in registry.policies]
    for i, desk in enumerate(engine.desks.desks):
        path = f"desks[{i}]"
        if desk.calendar is not None and desk.calendar not in calendars:
            raise ConfigError(f"{path}.calendar: no calendar named {desk.calendar!r} "
                              f"(known: {', '.join(sorted(calendars))})")
        unknown = next((n for n in desk.sla_policies if n not in names), None)
        if unknown is not None:
            raise ConfigError(f"{path}.sla_policies: no policy named {unknown!r} "
                              f"(known: {', '.join(names)})")
        if desk.sla_policies:
            listed = frozenset(desk.sla_policies)
            by_desk[desk.name] = SlaPolicies(
                policies=registry.policies,
                rules=tuple(r for r in registry.rules if r.policy in listed),
                default=desk.sla_policies[0])
        elif desk.calendar is not None and not configured:
            own, rules = _by_priority(calendars[desk.calendar], warn, engine, f"{desk.name}:")
            extra += own
            by_desk[desk.name] = SlaPolicies(policies=own, rules=rules,
                                             default=f"{desk.name}:normal"
                                             if f"{desk.name}:normal" in
                                             {p.name for p in own} else own[0].name)
    if not extra:
        return registry, by_desk
    return replace(registry, policies=registry.policies + tuple(extra)), by_desk


def _policy(t: Table, calendars: dict[str, BusinessCalendar], warn: _Warn) -> SlaPolicy:
    name = t.text("name", "")
    if not name:
        raise ConfigError(f"{t.path}.name: every policy needs a name")
    calendar = t.text("calendar", next(iter(calendars)))
    if calendar not in calendars:
        raise ConfigError(f"{t.path}.calendar: no calendar named {calendar!r} "
                          f"(known: {', '.join(sorted(calendars))})")
    return SlaPolicy(
        name=name, calendar=calendars[calendar],
        first_response_minutes=_minutes(t, "first_response_minutes"),
        resolution_minutes=_minutes(t, "resolution_minutes"),
        next_response_minutes=_opt_positive(t, "next_response_minutes"),
        warn_at_percent=_percent(t, warn.percent),
        warn_minutes=t.opt_whole("warn_minutes") if "warn_minutes" in t.data else warn.minutes)


def _minutes(t: Table, key: str) -> int:
    if key not in t.data:
        raise ConfigError(f"{t.path}.{key}: required (business minutes)")
    return t.whole(key, 0, 1)


def _opt_positive(t: Table, key: str) -> int | None:
    return t.whole(key, 0, 1) if key in t.data else None


def _rule(t: Table, policies: tuple[SlaPolicy, ...], engine: EngineSettings,
          companies: tuple[str, ...]) -> SlaRule:
    policy = t.text("policy", "")
    names = [p.name for p in policies]
    if policy not in names:
        raise ConfigError(f"{t.path}.policy: no policy named {policy!r} "
                          f"(known: {', '.join(names)})")
    return SlaRule(policy=policy, types=_subset(t, "types", engine.types),
                   priorities=_subset(t, "priorities", engine.priorities),
                   companies=_subset(t, "companies", companies))


def _subset(t: Table, key: str, known: tuple[str, ...]) -> frozenset[str]:
    values = t.strings(key)
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ConfigError(f"{t.path}.{key}: unknown {unknown[0]!r} "
                          f"(known: {', '.join(known) or 'none'})")
    return frozenset(values)


def _registry(root: Table, policies: tuple[SlaPolicy, ...],
              rules: tuple[SlaRule, ...]) -> SlaPolicies:
    names = [p.name for p in policies]
    duplicate = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if duplicate is not None:
        raise ConfigError(f"sla.policies: the name {duplicate!r} is used twice")
    default = root.text("default_policy", "normal" if "normal" in names else names[0])
    if default not in names:
        raise ConfigError(f"sla.default_policy: no policy named {default!r} "
                          f"(known: {', '.join(names)})")
    return SlaPolicies(policies=policies, rules=rules, default=default)


def _staff_calendar(root: Table, calendars: dict[str, BusinessCalendar],
                    registry: SlaPolicies) -> BusinessCalendar:
    name = root.opt_text("staff_calendar")
    if name is None:
        return registry.get(registry.default).calendar
    if name not in calendars:
        raise ConfigError(f"sla.staff_calendar: no calendar named {name!r} "
                          f"(known: {', '.join(sorted(calendars))})")
    return calendars[name]
