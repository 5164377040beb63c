"""F8: SLA policies and the ordered rules that pick one for a ticket.

A policy holds targets in business minutes on a named calendar. Rules are tried in order and
the first whose every given condition matches wins; the default policy always exists, so every
ticket has a policy. `config/sla.py` builds these from the `[sla]` section.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from engine.model import Ticket
from engine.sla.calendar import BusinessCalendar


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"  # after each client message, once answered before
    RESOLUTION = "resolution"


@dataclass(frozen=True)
class SlaPolicy:
    """Targets in business minutes. The pre-breach warning fires when `warn_minutes` are left,
    or else when `warn_at_percent` of the target is used."""

    name: str
    calendar: BusinessCalendar
    first_response_minutes: int
    resolution_minutes: int
    next_response_minutes: int | None = None
    warn_at_percent: int = 75
    warn_minutes: int | None = None

    def __post_init__(self) -> None:
        if self.first_response_minutes <= 0 or self.resolution_minutes <= 0:
            raise ValueError(f"policy {self.name!r}: targets must be positive minutes")
        if not 0 < self.warn_at_percent < 100:
            raise ValueError(f"policy {self.name!r}: warn_at_percent must be within 1..99")

    def minutes(self, target: Target) -> int:
        if target is Target.FIRST_RESPONSE:
            return self.first_response_minutes
        if target is Target.NEXT_RESPONSE:
            # Only asked of a policy that has the target; 0 would mean "due at once".
            return self.next_response_minutes or self.first_response_minutes
        return self.resolution_minutes

    def warn_left(self, target: Target) -> float:
        """Business minutes left on the clock at which the warning is due."""
        if self.warn_minutes is not None:
            return float(self.warn_minutes)
        return self.minutes(target) * (100 - self.warn_at_percent) / 100


@dataclass(frozen=True)
class SlaRule:
    """Matches when each non-empty condition holds; empty means "any"."""

    policy: str
    types: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    companies: frozenset[str] = frozenset()

    def matches(self, ticket: Ticket, company: str | None) -> bool:
        return (_any_or(self.types, ticket.type) and _any_or(self.priorities, ticket.priority)
                and _any_or(self.companies, company))


def _any_or(allowed: frozenset[str], value: str | None) -> bool:
    return not allowed or value in allowed


@dataclass(frozen=True)
class SlaPolicies:
    """The explicit registry: every policy by name, the rules in order, the default's name."""

    policies: tuple[SlaPolicy, ...]
    rules: tuple[SlaRule, ...]
    default: str

    def __post_init__(self) -> None:
        names = [p.name for p in self.policies]
        if len(set(names)) != len(names):
            raise ValueError("policy names must be unique")
        for name in (self.default, *(r.policy for r in self.rules)):
            if name not in names:
                raise ValueError(f"no policy named {name!r}")

    @property
    def uses_companies(self) -> bool:
        return any(r.companies for r in self.rules)

    def get(self, name: str | None) -> SlaPolicy:
        """The named policy; a name no longer configured falls back to the default, so a
        config change never leaves a stored ticket without a clock."""
        found = next((p for p in self.policies if p.name == name), None)
        return found or next(p for p in self.policies if p.name == self.default)

    def choose(self, ticket: Ticket, company: str | None = None) -> SlaPolicy:
        rule = next((r for r in self.rules if r.matches(ticket, company)), None)
        return self.get(self.default if rule is None else rule.policy)

    def calendars(self) -> Iterable[BusinessCalendar]:
        return {p.calendar.name: p.calendar for p in self.policies}.values()


# Ticket24's deadlines by priority (seed 004): high 1 day, medium 3, low 5, in business days
# of the calendar's length (9 hours on the default 09:00-18:00 calendar).
TICKET24_DAYS = {"urgent": 1, "high": 1, "normal": 3, "low": 5}


def ticket24_policies(calendar: BusinessCalendar, day_minutes: int = 540,
                      deadlines: Iterable[tuple[str, int]] | None = None,
                      prefix: str = "") -> SlaPolicies:
    """The embedded example: one policy per priority, chosen by priority, `normal` by default.
    `deadlines` (priority, business minutes to resolve; F12's deadlines by priority) replace
    Ticket24's days; the first response is due in a ninth of that, at least an hour (an hour
    a day of resolution time, as Ticket24's days have it). `prefix` names a desk's own set."""
    minutes = dict(deadlines) if deadlines is not None else \
        {p: days * day_minutes for p, days in TICKET24_DAYS.items()}
    policies = tuple(
        SlaPolicy(name=f"{prefix}{priority}", calendar=calendar,
                  first_response_minutes=min(max(60, total // 9), total, day_minutes),
                  resolution_minutes=total)
        for priority, total in minutes.items())
    rules = tuple(SlaRule(policy=f"{prefix}{p}", priorities=frozenset({p})) for p in minutes)
    default = "normal" if "normal" in minutes else next(iter(minutes))
    return SlaPolicies(policies=policies, rules=rules, default=f"{prefix}{default}")
