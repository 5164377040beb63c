"""Config: embedded defaults, the example file, env secrets, and errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.reader import ConfigError
from config.settings import from_mapping, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "ticketbot.example.toml"


def test_no_config_runs_on_embedded_defaults() -> None:
    settings = load_settings(None, {})
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert (settings.email.address, settings.email.listen_port) == ("support@localhost", 2525)
    assert settings.telegram.token is None


def test_example_file_loads_as_it_is() -> None:
    settings = load_settings(EXAMPLE, {})
    assert {p.role for p in settings.people} == {"lead", "specialist", "client"}
    assert settings.companies[0].manager_email == "lena@desk.example"
    restart = next(a for a in settings.answers if a.name == "restart")
    assert "{requester}" in restart.text("en") and "Здравствуйте" in restart.text("ru")


def test_environment_supplies_secrets_and_repr_hides_them() -> None:
    env = {"TICKETBOT_TELEGRAM_TOKEN": "123:SECRET", "TICKETBOT_DATABASE_URL": "sqlite+aiosqlite:///x.db",
           "TICKETBOT_SMTP_PASSWORD": "pw-smtp", "TICKETBOT_IMAP_PASSWORD": "pw-imap"}
    data = {"email": {"imap": {"host": "h", "user": "u"}, "smtp": {"host": "h"}}}
    settings = from_mapping(data, env)
    assert settings.telegram.token == "123:SECRET"
    assert settings.email.imap is not None and settings.email.imap.password == "pw-imap"
    assert settings.email.smtp is not None and settings.email.smtp.password == "pw-smtp"
    assert not {"SECRET", "pw-smtp", "pw-imap", "x.db"} & set(repr(settings).replace("'", " ").split())
    assert "123:SECRET" not in repr(settings)


@pytest.mark.parametrize(("data", "message"), [
    ({"email": {"smtp": {"port": "x"}}}, "email.smtp.port: expected a whole number"),
    ({"email": {"imap": {"host": "h", "user": "u", "tls": "starttls"}}}, "email.imap.tls"),
    ({"email": {"address": "nobody"}}, "email.address"),
    ({"email": {"subject_tag": "[ticket]"}}, "email.subject_tag: must contain {number}"),
    ({"people": [{"name": "A", "role": "boss", "emails": ["a@b.c"]}]}, "people[0].role"),
    ({"people": [{"name": "A"}]}, "people[0]: give emails or telegram_id"),
    ({"people": [{"name": "A", "emails": ["a@b.c"], "company": "Nope"}]}, "people[0].company"),
    ({"service": {"timezone": "Mars/Olympus"}}, "service.timezone"),
    ({"service": {"databse_url": "x"}}, "service.databse_url: unknown key"),
    ({"tickets": {"priorities": ["a"], "default_priority": "b"}}, "tickets.default_priority"),
    ({"telegram": {"reopen_days": -1}}, "telegram.reopen_days: must be at least 0"),
    ({"bogus": 1}, "bogus: unknown key"),
    ({"answers": {"hi": {"en": "Hello"}}}, "answers.hi.ru: missing"),
    ({"answers": {"hi": {"en": "Hi {name}", "ru": "Привет"}}},
     "answers.hi.en: unknown placeholder {name}"),
    ({"answers": {"hi": {"en": "Hi", "ru": "Привет", "de": "Hallo"}}}, "answers.hi.de: unknown key"),
    ({"answers": {"Hi!": {"en": "Hi", "ru": "Привет"}}}, "answers.Hi!: a name is"),
])
def test_bad_values_name_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("{", r"\{")):
        from_mapping(data, {})


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[email\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, {})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", {})


ACME = """
[[people]]
name = "Lena Lead"
role = "lead"
emails = ["lena@desk.example"]

[[companies]]
name = "Acme"
"""
OFFICE = """
[sla.calendars.office]
tz = "Europe/Moscow"

[[sla.policies]]
name = "std"
first_response_minutes = 60
resolution_minutes = 480
"""


@pytest.mark.parametrize(("toml", "line"), [
    (ACME + 'manager = "ghost@acme.example"\n',
     "companies[0].manager: no declared person has the address 'ghost@acme.example'"),
    (ACME + '[[sla.rules]]\npolicy = "high"\ncompanies = ["Umbrella"]\n',
     "sla.rules[0].companies: unknown 'Umbrella' (known: Acme)"),
    (OFFICE + 'calendar = "night"\n',
     "sla.policies[0].calendar: no calendar named 'night' (known: office)"),
    ('[sla]\nstaff_calendar = "night"\n' + OFFICE,
     "sla.staff_calendar: no calendar named 'night' (known: office)"),
    ('[sla.metrics]\ndigest = "hourly"\n',
     "sla.metrics.digest: expected one of off, daily, weekly, monthly, got 'hourly'"),
])
def test_cross_references_are_checked_when_the_config_loads(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, line: str) -> None:
    from bot.cli import main

    path = tmp_path / "ticketbot.toml"
    path.write_text(toml)
    assert main(["--config", str(path), "ticket", "list"]) == 2
    assert capsys.readouterr().err == f"ticketbot: config error: {line}\n"


def test_a_declared_manager_and_a_second_rule_naming_a_company_load() -> None:
    import tomllib

    toml = ACME + 'manager = "lena@desk.example"\n' + """
[[companies]]
name = "Beta"

[[sla.rules]]
policy = "high"
companies = ["Acme"]

[[sla.rules]]
policy = "low"
companies = ["Beta"]
"""
    settings = from_mapping(tomllib.loads(toml), {})
    assert [sorted(r.companies) for r in settings.sla.policies.rules[:2]] == [["Acme"], ["Beta"]]


def test_reopen_days_is_one_setting_for_mail_and_chat() -> None:
    assert from_mapping({}, {}).reopen_days == 7
    assert load_settings(EXAMPLE, {}).reopen_days == 7
    assert from_mapping({"tickets": {"reopen_days": 3}}, {}).reopen_days == 3
    # Its old name, from when only chat used it, is still read.
    assert from_mapping({"telegram": {"reopen_days": 5}}, {}).reopen_days == 5
    with pytest.raises(ConfigError, match="tickets.reopen_days: also set as telegram"):
        from_mapping({"tickets": {"reopen_days": 3}, "telegram": {"reopen_days": 5}}, {})
    with pytest.raises(ConfigError, match="tickets.reopen_days: must be at least 0"):
        from_mapping({"tickets": {"reopen_days": -1}}, {})
