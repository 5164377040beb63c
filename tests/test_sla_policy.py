"""Policies and the ordered rules that choose one: first match wins, a default always exists."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.model import Status, Ticket
from engine.sla.policy import SlaPolicies, SlaRule, Target, ticket24_policies
from tests.support_sla import RU, policies, policy

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


def ticket(type_: str = "question", priority: str = "normal") -> Ticket:
    return Ticket(number=1, subject="s", description="d", status=Status.OPEN, created_at=NOW,
                  updated_at=NOW, channel="email", type=type_, priority=priority)


VIP, FAST, SLOW = policy("vip", 15, 120), policy("fast", 30, 240), policy("slow", 480, 2700)
REGISTRY = policies(VIP, FAST, SLOW, rules=[
    SlaRule("vip", types=frozenset({"incident"}), companies=frozenset({"Acme"})),
    SlaRule("fast", priorities=frozenset({"high", "urgent"})),
    SlaRule("slow", types=frozenset({"incident"})),
    SlaRule("vip", priorities=frozenset({"high"})),  # never reached: "fast" matches first
])


@pytest.mark.parametrize(("type_", "priority", "company", "expected"), [
    ("incident", "normal", "Acme", "vip"),       # every condition of rule 1
    ("incident", "high", "Acme", "vip"),         # rules 1 and 2 match: the first wins
    ("incident", "high", "Other", "fast"),       # the company fails rule 1
    ("incident", "low", None, "slow"),
    ("question", "high", "Acme", "fast"),        # rule 4 would match too, but later
    ("question", "normal", "Acme", "std"),       # nothing matches: the default
])
def test_first_matching_rule_wins(type_: str, priority: str, company: str | None,
                                  expected: str) -> None:
    assert REGISTRY.choose(ticket(type_, priority), company).name == expected


def test_a_stored_policy_name_no_longer_configured_falls_back_to_the_default() -> None:
    assert REGISTRY.get("retired").name == "std"
    assert REGISTRY.get(None).name == "std"
    assert REGISTRY.get("slow") is SLOW


def test_registry_refuses_unknown_names_and_duplicates() -> None:
    with pytest.raises(ValueError, match="no policy named 'nope'"):
        SlaPolicies(policies=(policy(),), rules=(SlaRule("nope"),), default="std")
    with pytest.raises(ValueError, match="unique"):
        SlaPolicies(policies=(policy(), policy()), rules=(), default="std")


def test_uses_companies_only_when_a_rule_names_one() -> None:
    assert REGISTRY.uses_companies
    assert not policies(rules=[SlaRule("std", types=frozenset({"x"}))]).uses_companies


def test_ticket24_example_high_1_day_normal_3_low_5() -> None:
    example = ticket24_policies(RU)
    days = {p: example.choose(ticket(priority=p)).resolution_minutes // 540
            for p in ("urgent", "high", "normal", "low")}
    assert days == {"urgent": 1, "high": 1, "normal": 3, "low": 5}
    assert example.choose(ticket(priority="unknown")).name == "normal"


def test_warning_point_by_percent_or_by_minutes_left() -> None:
    assert policy(first=60, resolution=540).warn_left(Target.RESOLUTION) == 135
    assert policy(first=60, warn_at_percent=90).warn_left(Target.FIRST_RESPONSE) == 6
    assert policy(warn_minutes=20).warn_left(Target.RESOLUTION) == 20


def test_policy_refuses_nonsense_targets() -> None:
    with pytest.raises(ValueError, match="positive"):
        policy(first=0)
    with pytest.raises(ValueError, match="warn_at_percent"):
        policy(warn_at_percent=100)
