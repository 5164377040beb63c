"""The `[sla]` section: the embedded default, a full example, and errors that name the key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from config.metrics import Fallbacks
from config.reader import ConfigError
from config.settings import from_mapping
from config.sla import parse_sla
from engine.model import Status, Ticket
from engine.sla.calendar import is_working
from tests.support_sla import msk

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


def ticket(type_: str = "question", priority: str = "normal") -> Ticket:
    return Ticket(number=1, subject="s", description="d", status=Status.OPEN, created_at=NOW,
                  updated_at=NOW, channel="email", type=type_, priority=priority)


def test_embedded_default_is_an_ru_calendar_and_ticket24_deadlines() -> None:
    config = parse_sla({})
    cal = config.policies.get(None).calendar
    assert is_working(cal, msk(2026, 11, 23, 9)) and not is_working(cal, msk(2026, 11, 23, 18))
    assert not is_working(cal, msk(2026, 11, 21, 12))  # Saturday
    assert not is_working(cal, msk(2026, 1, 9, 12))     # the transferred day off
    assert is_working(cal, msk(2025, 11, 1, 12))        # the working Saturday
    days = {p: config.policies.choose(ticket(priority=p)).resolution_minutes // 540
            for p in ("high", "normal", "low")}
    assert days == {"high": 1, "normal": 3, "low": 5}
    assert config.policies.default == "normal" and config.enabled
    assert config.staff_calendar is cal and config.scan_seconds == 30


FULL: dict[str, Any] = {
    "warn_minutes": 20,
    "scan_seconds": 15,
    "staff_calendar": "spb",
    "calendars": {
        "office": {"tz": "Europe/Moscow", "hours": {"mon": "09:00-13:00,14:00-18:00",
                                                    "tue": ["10:00-12:00"]},
                   "holidays": ["2026-11-24"], "workdays": ["2026-11-22"]},
        "spb": {"tz": "Europe/Moscow", "country": ""},
    },
    "policies": [
        {"name": "std", "calendar": "office", "first_response_minutes": 60,
         "resolution_minutes": 480},
        {"name": "vip", "calendar": "office", "first_response_minutes": 15,
         "resolution_minutes": 120, "next_response_minutes": 30, "warn_at_percent": 80,
         "warn_minutes": 5},
    ],
    "rules": [{"policy": "vip", "types": ["incident"], "priorities": ["high"],
               "companies": ["Acme"]}],
}


def test_full_example() -> None:
    config = parse_sla(FULL, companies=["Acme"])
    std, vip = config.policies.get("std"), config.policies.get("vip")
    assert config.policies.default == "std"  # the first policy, as there is no "normal"
    assert config.policies.choose(ticket("incident", "high"), "Acme") is vip
    assert config.policies.choose(ticket("incident", "high"), "Other") is std
    assert (std.warn_minutes, vip.warn_minutes, vip.warn_at_percent) == (20, 5, 80)
    assert vip.next_response_minutes == 30 and std.next_response_minutes is None
    cal = std.calendar
    assert not is_working(cal, msk(2026, 11, 23, 13, 30))                 # lunch
    assert is_working(cal, msk(2026, 11, 22, 10))                         # extra workday (Sun)
    assert not is_working(cal, msk(2026, 11, 24, 11))                     # extra holiday (Tue)
    assert not is_working(cal, msk(2026, 11, 25, 10))                     # no Wednesday hours
    assert config.staff_calendar.name == "spb" and config.scan_seconds == 15


def test_rules_may_use_the_embedded_policies() -> None:
    config = parse_sla({"rules": [{"policy": "high", "types": ["incident"]}]})
    assert config.policies.choose(ticket("incident", "low")).name == "high"
    assert config.policies.choose(ticket("question", "low")).name == "low"


def test_settings_feed_types_priorities_and_companies() -> None:
    settings = from_mapping({"companies": [{"name": "Acme"}], "sla": {
        "rules": [{"policy": "high", "companies": ["Acme"]}]}}, {})
    assert settings.sla.policies.choose(ticket(), "Acme").name == "high"
    with pytest.raises(ConfigError, match=r"^sla\.rules\[0\]\.companies: unknown 'Umbrella'"):
        from_mapping({"sla": {"rules": [{"policy": "high", "companies": ["Umbrella"]}]}}, {})


def _policy(**kw: object) -> dict[str, object]:
    return {"name": "p", "first_response_minutes": 10, "resolution_minutes": 60, **kw}


@pytest.mark.parametrize(("raw", "key"), [
    ({"colour": "red"}, "sla.colour: unknown key"),
    ({"warn_at_percent": 100}, "sla.warn_at_percent: must be at most 99"),
    ({"warn_at_percent": "75%"}, "sla.warn_at_percent: expected a whole number"),
    ({"scan_seconds": 0}, "sla.scan_seconds: must be at least 1"),
    ({"calendars": []}, "sla.calendars: expected a table"),
    ({"calendars": {"x": {"tz": "Mars/Olympus"}}}, "sla.calendars.x: unknown time zone"),
    ({"calendars": {"x": {"country": "XX"}}}, "sla.calendars.x: unknown holiday country"),
    ({"calendars": {"x": {"hours": {"mon": "9-18"}}}}, "sla.calendars.x.hours.mon: bad interval"),
    ({"calendars": {"x": {"hours": {"mon": "18:00-09:00"}}}}, "sla.calendars.x: mon: interval"),
    ({"calendars": {"x": {"hours": {"monday": "09:00-18:00"}}}},
     "sla.calendars.x.hours.monday: unknown key"),
    ({"calendars": {"x": {"hours": {"mon": 9}}}}, "sla.calendars.x.hours.mon: expected"),
    ({"calendars": {"x": {"holidays": "2026-01-01"}}}, "sla.calendars.x.holidays: expected a list"),
    ({"calendars": {"x": {"holidays": ["1 Jan"]}}}, "sla.calendars.x: bad date '1 Jan'"),
    ({"calendars": {"x": {"zone": "UTC"}}}, "sla.calendars.x.zone: unknown key"),
    ({"policies": [_policy(calendar="nope")]}, "sla.policies[0].calendar: no calendar named 'nope'"),
    ({"policies": [_policy(name="")]}, "sla.policies[0].name: every policy needs a name"),
    ({"policies": [{"name": "p", "first_response_minutes": 10}]},
     "sla.policies[0].resolution_minutes: required"),
    ({"policies": [_policy(first_response_minutes=0)]},
     "sla.policies[0].first_response_minutes: must be at least 1"),
    ({"policies": [_policy(next_response_minutes=0)]},
     "sla.policies[0].next_response_minutes: must be at least 1"),
    ({"policies": [_policy(), _policy()]}, "sla.policies: the name 'p' is used twice"),
    ({"policies": [_policy(warn_at_percent=0)]}, "sla.policies[0].warn_at_percent: must be at least 1"),
    ({"policies": "p"}, r"sla.policies: expected an array of tables"),
    ({"rules": [{"policy": "gold"}]}, "sla.rules[0].policy: no policy named 'gold'"),
    ({"rules": [{"policy": "high", "priorities": ["critical"]}]},
     "sla.rules[0].priorities: unknown 'critical'"),
    ({"rules": [{"policy": "high", "types": ["bug"]}]}, "sla.rules[0].types: unknown 'bug'"),
    ({"rules": [{"policy": "high", "when": "always"}]}, "sla.rules[0].when: unknown key"),
    ({"default_policy": "gold"}, "sla.default_policy: no policy named 'gold'"),
    ({"staff_calendar": "night"}, "sla.staff_calendar: no calendar named 'night'"),
])
def test_errors_name_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as bad:
        parse_sla(raw)
    assert str(bad.value).startswith(key), str(bad.value)


def test_metrics_subsections_are_read_with_the_section() -> None:
    config = parse_sla({"metrics": {"digest": "weekly"}, "ratings": {}})
    assert config.policies.default == "normal"
    assert (config.metrics.digest, config.ratings.scale) == ("weekly", 5)


def test_a_second_rule_may_name_a_company() -> None:
    # The companies were once handed over as a generator, used up by the first rule.
    settings = from_mapping({"companies": [{"name": "Acme"}, {"name": "Beta"}], "sla": {
        "rules": [{"policy": "high", "companies": ["Acme"]},
                  {"policy": "low", "companies": ["Beta"]}]}}, {})
    policies = settings.sla.policies
    assert policies.choose(ticket(), "Acme").name == "high"
    assert policies.choose(ticket(), "Beta").name == "low"


def test_rating_settings_from_config_refuse_bad_values() -> None:
    # Moved from tests/test_ratings_tokens.py with the parser (once engine/ratings.py's).
    got = parse_sla({"ratings": {"delay_minutes": 0, "scale": 10}},
                    fallbacks=Fallbacks(reply_address="help@x")).ratings
    assert (got.delay_minutes, got.scale, got.reply_address) == (0, 10, "help@x")
    for bad in ({"scale": 1}, {"cooldown_days": -1}, {"stars": 5}, {"enabled": "no"},
                {"delay_minutes": "30"}):
        with pytest.raises(ValueError, match="ratings"):
            parse_sla({"ratings": bad})
