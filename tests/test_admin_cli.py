"""The admin's first hour, through the installed `ticketbot` command in a subprocess: where
`--config` goes, config errors as one line, the example config, the time zone, Telegram ids
with `telegram whoami`, and logs as JSON without secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.settings import load_settings, machine_timezone
from tests.fakebotapi import BOT_USERNAME, TOKEN, FakeBotAPI, User, serve
from tests.support_cli import clean_env, ticketbot
from tests.support_telegram import LENA, SAM, STAFF, SUPPORT

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "ticketbot.example.toml"


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "ticketbot.toml"
    path.write_text(f'[service]\ndatabase_url = "sqlite+aiosqlite:///{tmp_path / "tb.db"}"\n'
                    f'timezone = "UTC"\nlanguage = "ru"\n{extra}')
    return path


@pytest.mark.parametrize("where", ["before", "after", "environment"])
async def test_config_is_taken_before_or_after_the_subcommand_or_from_the_environment(
        tmp_path: Path, where: str) -> None:
    config = _config(tmp_path)
    forms: dict[str, list[str | Path]] = {"before": ["--config", config, "ticket", "list"],
                                          "after": ["ticket", "list", "--config", config],
                                          "environment": ["ticket", "list"]}
    args = forms[where]
    env = clean_env(TICKETBOT_CONFIG=str(config)) if where == "environment" else None
    result = await ticketbot(*args, env=env, cwd=tmp_path)
    # The config's language (ru) shows that this file, not the defaults, was read.
    assert (result.code, result.out.strip()) == (0, "Заявок нет."), result.err
    assert (tmp_path / "tb.db").exists() and not (tmp_path / "data").exists()


async def test_a_config_named_on_the_command_line_wins_over_the_environment(
        tmp_path: Path) -> None:
    result = await ticketbot("ticket", "list", "--config", _config(tmp_path), cwd=tmp_path,
                             env=clean_env(TICKETBOT_CONFIG=str(tmp_path / "missing.toml")))
    assert result.code == 0, result.err


@pytest.mark.parametrize(("extra", "line"), [
    ('[[people]]\nname = "A"\nrole = "lead"\nemails = ["a@desk.test"]\n'
     '[[people]]\nname = "B"\nemails = ["a@desk.test"]\n',
     "people[1].emails: 'a@desk.test' is already given to people[0] (A)"),
    ('[[people]]\nname = "A"\nrole = "lead"\nemails = ["a@desk.test"]\n'
     '[[companies]]\nname = "Acme"\nmanager = "ghost@acme.test"\n',
     "companies[0].manager: no declared person has the address 'ghost@acme.test'"),
    ('[[people]]\nname = "A"\ntelegram_id = 7\n[[people]]\nname = "B"\ntelegram_id = 7\n',
     "people[1].telegram_id: 7 is already given to people[0] (A)"),
    ('[[companies]]\nname = "Acme"\ndomains = ["acme.test"]\n'
     '[[companies]]\nname = "Acme2"\ndomains = ["acme.test"]\n',
     "companies[1].domains: 'acme.test' is already given to companies[0] (Acme)"),
    ('[email.smtp_intake]\nenabled = "no"\n',
     "email.smtp_intake.enabled: expected true or false, got 'no'"),
])
async def test_cross_reference_errors_are_one_line_naming_the_key(
        tmp_path: Path, extra: str, line: str) -> None:
    result = await ticketbot("run", "--config", _config(tmp_path, extra), cwd=tmp_path)
    assert (result.code, result.err) == (2, f"ticketbot: config error: {line}\n")
    assert not (tmp_path / "tb.db").exists()  # nothing was started or written


async def test_the_example_config_runs_as_it_is(tmp_path: Path) -> None:
    result = await ticketbot("--config", EXAMPLE, "ticket", "list", cwd=tmp_path)
    assert (result.code, result.out.strip()) == (0, "No tickets."), result.err
    assert (tmp_path / "data" / "ticketbot.db").exists()


def test_the_example_config_shows_every_section() -> None:
    text = EXAMPLE.read_text()
    for section in ("[service]", "[tickets]", "[[companies]]", "[[people]]", "[email]",
                    "[email.smtp_intake]", "[email.imap]", "[email.smtp]", "[telegram]",
                    "[sla]", "[sla.calendars.", "[[sla.policies]]", "[[sla.rules]]",
                    "[sla.metrics]", "[sla.ratings]"):
        assert section in text, section
    settings = load_settings(EXAMPLE, {})
    assert settings.sla.metrics.digest == "weekly"
    assert [p.name for p in settings.sla.policies.policies] == ["standard", "urgent"]
    assert settings.timezone == machine_timezone()  # the example leaves the zone to the machine


def test_the_example_config_commented_sections_load_once_uncommented(tmp_path: Path) -> None:
    lines, out, block = EXAMPLE.read_text().splitlines(), [], False
    for line in lines:
        block = line in ("# [email.imap]", "# [email.smtp]") or (block and line.startswith("# "))
        out.append(line[2:] if block else line)
    path = tmp_path / "uncommented.toml"
    path.write_text("\n".join(out) + "\n")
    settings = load_settings(path, {"TICKETBOT_IMAP_PASSWORD": "pw"})
    assert settings.email.imap is not None and settings.email.imap.move_to == "Processed"
    assert settings.email.smtp is not None and settings.email.smtp.tls == "starttls"


def test_the_machine_time_zone_is_read_from_the_system(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    assert machine_timezone({}, etc) == "UTC"
    (etc / "localtime").symlink_to("/usr/share/zoneinfo/America/Chicago")
    assert machine_timezone({}, etc) == "America/Chicago"
    (etc / "timezone").write_text("Asia/Tokyo\n")
    assert machine_timezone({}, etc) == "Asia/Tokyo"
    assert machine_timezone({"TZ": ":Europe/Berlin"}, etc) == "Europe/Berlin"
    assert machine_timezone({"TZ": "Mars/Olympus"}, etc) == "Asia/Tokyo"
    assert load_settings(None, {}).timezone == machine_timezone()


async def test_whoami_prints_who_writes_with_ids_ready_to_paste(tmp_path: Path) -> None:
    fake = FakeBotAPI()
    fake.add_chat(SUPPORT, "Support")
    fake.add_chat(STAFF, "Specialists")
    newcomer = User(301, "Nina", "nina_ops")
    await fake.say(LENA, SUPPORT, f"/start@{BOT_USERNAME}")
    await fake.say(newcomer, newcomer.id, "/start")
    await fake.say(SAM, STAFF, f"/start@{BOT_USERNAME}")
    pending = len(fake.updates)
    server = await serve(fake)
    try:
        config = _config(tmp_path, f'[[people]]\nname = "Lena Lead"\nrole = "lead"\n'
                                   f'telegram_id = {LENA.id}\n'
                                   f'[telegram]\napi_url = "{server.url}"\n')
        result = await ticketbot("telegram", "whoami", "--seconds", "1", "--config", config,
                                 env=clean_env(TICKETBOT_TELEGRAM_TOKEN=TOKEN), cwd=tmp_path)
    finally:
        await server.close()
    assert result.code == 0, result.err
    out = result.out.splitlines()
    assert out[0].startswith(f"Listening for 1 s as @{BOT_USERNAME}.")
    assert out[1:6] == [f"chat {SUPPORT}: Support (supergroup)", f"person {LENA.id}: Lena @lena_lead",
                        f"person {newcomer.id}: Nina @nina_ops",
                        f"chat {STAFF}: Specialists (supergroup)", f"person {SAM.id}: Sam @sam_spec"]
    paste = "\n".join(out[out.index("# --- for the config file ---"):])
    assert f"# support_chat_id = {SUPPORT}   # or staff_chat_id: Support (supergroup)" in paste
    assert f"# Lena ({LENA.id}) is in the config already as 'Lena Lead'" in paste
    # The entries parse as the config's [[people]] and say what to complete.
    import tomllib
    people = tomllib.loads(paste)["people"]
    assert people == [
        {"name": "Nina", "role": "specialist", "telegram_id": 301, "username": "nina_ops"},
        {"name": "Sam", "role": "specialist", "telegram_id": SAM.id, "username": "sam_spec"}]
    # It only peeked: every update is still waiting for the service.
    assert len(fake.updates) == pending
    assert all(not c.params.get("offset") for c in fake.calls if c.method == "getupdates")


async def test_whoami_without_a_token_or_switched_off_says_so(tmp_path: Path) -> None:
    result = await ticketbot("telegram", "whoami", "--config", _config(tmp_path))
    assert (result.code, result.err) == (
        2, "ticketbot: no bot token: set TICKETBOT_TELEGRAM_TOKEN or [telegram] token\n")
    off = _config(tmp_path, "[telegram]\nenabled = false\n")
    result = await ticketbot("telegram", "check", "--config", off,
                             env=clean_env(TICKETBOT_TELEGRAM_TOKEN=TOKEN))
    assert (result.code, result.err) == (
        2, "ticketbot: Telegram is switched off ([telegram] enabled = false)\n")


async def test_logs_as_json_one_object_per_line_without_secrets(tmp_path: Path) -> None:
    config = _config(tmp_path, '[email.smtp]\nhost = "127.0.0.1"\nport = 1\n'
                               'user = "desk"\npassword = "relay-pass-4711"\n')
    url = f"sqlite+aiosqlite:///{tmp_path / 'tb.db'}"
    result = await ticketbot("ticket", "list", "--config", config, "--log-format", "json",
                             env=clean_env(TICKETBOT_DATABASE_URL=url))
    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.err.splitlines()]
    assert records and {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["message"].startswith("database sqlite") for r in records)
    assert "relay-pass-4711" not in result.err


async def test_an_unreachable_database_is_one_line_without_the_password(
        tmp_path: Path) -> None:
    from tests.support_email import free_port

    url = f"postgresql+asyncpg://postgres:hunter2-db@127.0.0.1:{free_port()}/x"
    result = await ticketbot("ticket", "list", cwd=tmp_path,
                             env=clean_env(TICKETBOT_DATABASE_URL=url))
    assert result.code == 1
    [line] = result.err.splitlines()
    assert line.startswith("ticketbot: ") and line.endswith(
        "(`ticketbot doctor` checks the whole setup)")
    assert "hunter2-db" not in result.err and "Traceback" not in result.err


async def test_telegram_check_is_reachable_from_the_command_line(tmp_path: Path) -> None:
    fake = FakeBotAPI()
    fake.add_chat(SUPPORT, "Support")
    server = await serve(fake)
    try:
        config = _config(tmp_path, f'[telegram]\napi_url = "{server.url}"\n'
                                   f'support_chat_id = {SUPPORT}\nstaff_chat_id = {STAFF}\n')
        result = await ticketbot("telegram", "check", "--config", config,
                                 env=clean_env(TICKETBOT_TELEGRAM_TOKEN=TOKEN), cwd=tmp_path)
    finally:
        await server.close()
    assert result.code == 1
    assert result.out.splitlines() == [
        f"bot: @{BOT_USERNAME} (id 123456)",
        "problem: the bot cannot read ordinary group messages: make it an administrator, or "
        "turn privacy mode off in @BotFather (/setprivacy) and add it again",
        "problem: the bot cannot open the staff chat (staff_chat_id)",
        "2 problem(s)"]


async def test_whoami_leaves_the_updates_to_a_running_service(tmp_path: Path) -> None:
    import asyncio

    sleeper = await asyncio.create_subprocess_exec("sleep", "30")  # a live process id
    try:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "ticketbot.pid").write_text(f"{sleeper.pid}\n")
        config = _config(tmp_path).read_text().replace(str(tmp_path / "tb.db"),
                                                        str(tmp_path / "data" / "tb.db"))
        (tmp_path / "ticketbot.toml").write_text(config)
        result = await ticketbot("telegram", "whoami", "--config", tmp_path / "ticketbot.toml",
                                 env=clean_env(TICKETBOT_TELEGRAM_TOKEN=TOKEN))
    finally:
        sleeper.kill()
        await sleeper.wait()
    assert (result.code, result.err) == (
        1, f"ticketbot: the service is running (pid {sleeper.pid}) and reads the bot's "
           f"updates itself; stop it while whoami listens, then start it again (nothing is "
           f"lost)\n")
