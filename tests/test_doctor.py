"""`ticketbot doctor` against the real servers: Dovecot (IMAP login and folders), aiosmtpd
(the relay, with a login), the fake Bot API (token, chats, privacy), and the database on
SQLite and PostgreSQL. One line per check; exit 0 only when everything needed works."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from alembic.script import ScriptDirectory

from bot.doctor import FAIL, OK, Finding, database
from config.settings import from_mapping
from engine.store.migrate import alembic_config, upgrade
from tests import support_email
from tests.fakebotapi import BOT_ID, BOT_USERNAME, TOKEN, FakeBotAPI, Running, serve
from tests.support_cli import clean_env, ticketbot
from tests.support_email import Dovecot, free_port
from tests.support_telegram import LENA, SAM, STAFF, SUPPORT

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()  # the newest migration

dovecot = support_email.dovecot  # the session's Dovecot fixture
RELAY_USER, RELAY_PASS = "desk", "relay-pw-31337"


@dataclass
class Relay:
    port: int
    logins: list[tuple[str, bool]]


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    """aiosmtpd that wants a login (plain text is fine on loopback)."""
    found = Relay(0, [])

    def check(server: Any, session: Any, envelope: Any, mechanism: str,
              data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (_text(data.login), _text(data.password)) == (
            RELAY_USER, RELAY_PASS)
        found.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(Sink(), authenticator=check, auth_require_tls=False), "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    yield found
    server.close()
    await server.wait_closed()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


@pytest.fixture
async def bot_api() -> AsyncIterator[Running]:
    fake = FakeBotAPI()
    fake.add_chat(SUPPORT, "Support")
    fake.add_chat(STAFF, "Specialists")
    fake.admins[SUPPORT] = {BOT_ID}
    running = await serve(fake)
    yield running
    await running.close()


def _config(tmp_path: Path, dovecot: Dovecot, relay: Relay, api: str, *,
            move_to: str = "Processed", intake_port: int | None = None) -> Path:
    path = tmp_path / "ticketbot.toml"
    path.write_text(f"""
[service]
database_url = "sqlite+aiosqlite:///{tmp_path / 'data' / 'tb.db'}"
timezone = "UTC"

[[people]]
name = "Lena Lead"
role = "lead"
emails = ["lena@desk.test"]
telegram_id = {LENA.id}

[[people]]
name = "Sam Spec"
role = "specialist"
telegram_id = {SAM.id}

[email]
listen_port = {intake_port or free_port()}

[email.imap]
host = "127.0.0.1"
port = {dovecot.imap_port}
tls = "none"
user = "{dovecot.new_user()}"
move_to = "{move_to}"

[email.smtp]
host = "127.0.0.1"
port = {relay.port}
user = "{RELAY_USER}"

[telegram]
api_url = "{api}"
support_chat_id = {SUPPORT}
staff_chat_id = {STAFF}
""")
    return path


def _env(imap_password: str = "secret", relay_password: str = RELAY_PASS) -> dict[str, str]:
    return clean_env(TICKETBOT_TELEGRAM_TOKEN=TOKEN, TICKETBOT_IMAP_PASSWORD=imap_password,
                     TICKETBOT_SMTP_PASSWORD=relay_password)


async def test_everything_works_exit_0_one_line_each(
        tmp_path: Path, dovecot: Dovecot, relay: Relay, bot_api: Running) -> None:
    config = _config(tmp_path, dovecot, relay, bot_api.url)
    result = await ticketbot("doctor", "--config", config, env=_env(), cwd=tmp_path)
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "OK   config", "OK   time zone", "OK   database", "OK   smtp intake", "OK   imap",
        "OK   imap", "OK   smtp relay", "OK   telegram", "OK   telegram support_chat_id",
        "WARN telegram staff_chat_id", "OK   staff"]
    assert lines[-1] == "everything needed works"
    assert "folder 'Processed' (move_to) exists" in result.out
    assert f"127.0.0.1:{relay.port} (none) answers, logged in as desk" in result.out
    assert f"token works: the bot is @{BOT_USERNAME}" in result.out
    assert "'Specialists': privacy mode is on and the bot is not an administrator" in result.out
    assert "all 2 staff can be reached" in result.out
    assert relay.logins and all(ok for _, ok in relay.logins)
    assert RELAY_PASS not in result.out + result.err and "secret" not in result.out


async def test_what_is_broken_says_what_to_do_and_exits_1(
        tmp_path: Path, dovecot: Dovecot, relay: Relay, bot_api: Running) -> None:
    bot_api.fake.admins.clear()  # the bot is no administrator of the support group any more
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    config = _config(tmp_path, dovecot, relay, bot_api.url, move_to="Archive",
                     intake_port=port)
    try:
        result = await ticketbot("doctor", "--config", config, cwd=tmp_path,
                                 env=_env(relay_password="wrong"))
    finally:
        taken.close()
    assert result.code == 1
    fails = [line for line in result.out.splitlines() if line.startswith("FAIL")]
    assert fails == [
        f"FAIL smtp intake: email.listen_port: cannot listen on 127.0.0.1:{port} (Address "
        f"already in use); free the port, choose another one, or set [email.smtp_intake] "
        f"enabled = false",
        "FAIL imap: email.imap.move_to: no folder 'Archive' on 127.0.0.1: create it or fix "
        "the name",
        f"FAIL smtp relay: 127.0.0.1:{relay.port} (none) refused the login as desk (535): "
        f"check [email.smtp] user and TICKETBOT_SMTP_PASSWORD",
        "FAIL telegram support_chat_id: 'Support': privacy mode is on and the bot is not an "
        "administrator, so it sees only commands: make it an administrator, or send "
        "/setprivacy to @BotFather, choose Disable, then remove the bot and add it again"]
    assert result.out.splitlines()[-1] == "something needed does not work (FAIL above)"
    assert "wrong" not in result.out


async def test_a_refused_imap_login_and_a_bad_token(
        tmp_path: Path, dovecot: Dovecot, relay: Relay, bot_api: Running) -> None:
    config = _config(tmp_path, dovecot, relay, bot_api.url)
    env = {**_env(imap_password="nope"), "TICKETBOT_TELEGRAM_TOKEN": "42:REVOKED"}
    result = await ticketbot("doctor", "--config", config, env=env, cwd=tmp_path)
    assert result.code == 1
    fails = [line for line in result.out.splitlines() if line.startswith("FAIL")]
    assert [f.split(":")[0] for f in fails] == ["FAIL imap", "FAIL telegram"]
    assert "check [email.imap] host, port, tls, user, mailbox and TICKETBOT_IMAP_PASSWORD" \
        in fails[0]
    assert fails[1] == ("FAIL telegram: Telegram refused the token: check "
                        "TICKETBOT_TELEGRAM_TOKEN or [telegram] token")
    assert "REVOKED" not in result.out + result.err and "nope" not in result.out


async def test_staff_nobody_can_reach_are_named(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text(f"""
[service]
database_url = "sqlite+aiosqlite:///{tmp_path / 'tb.db'}"
[email.smtp_intake]
enabled = false
[telegram]
enabled = false
[[people]]
name = "Olga"
role = "specialist"
emails = ["olga@desk.test"]
[[people]]
name = "Ivan"
role = "lead"
telegram_id = 7
[[people]]
name = "Carl"
emails = ["carl@acme.test"]
""")
    result = await ticketbot("doctor", "--config", config, cwd=tmp_path)
    assert result.code == 0, result.out  # unreachable staff is a warning, not a failure
    assert [line for line in result.out.splitlines() if line.startswith(("OFF", "WARN staff"))] == [
        "OFF  smtp intake: switched off ([email.smtp_intake] enabled = false)",
        "OFF  imap: no [email.imap] (or enabled = false): mail arrives by the SMTP intake only",
        "OFF  telegram: switched off ([telegram] enabled = false)",
        "WARN staff: Olga (people[0]) cannot be reached: no [email.smtp] relay for their "
        "address, and no telegram_id (`ticketbot telegram whoami` shows it)",
        "WARN staff: Ivan (people[1]) cannot be reached: no address (emails), and Telegram is "
        "off (no token)"]


async def test_database_migrated_and_writable_or_what_to_run(db_url: str) -> None:
    settings = from_mapping({}, {"TICKETBOT_DATABASE_URL": db_url})
    await upgrade(db_url, "0001")
    [old] = await database.check(settings)
    assert old.state == FAIL and old.text.endswith(
        f"is at schema revision 0001, this version needs {HEAD}: run `ticketbot db upgrade`")
    await upgrade(db_url)
    [now] = await database.check(settings)
    assert now.state == OK and now.text.endswith(f", migrated ({HEAD}), writable")


async def test_an_unreachable_database_and_a_fresh_sqlite_file(tmp_path: Path) -> None:
    gone = from_mapping({}, {"TICKETBOT_DATABASE_URL":
                             f"postgresql+asyncpg://postgres:pw@127.0.0.1:{free_port()}/x"})
    [found] = await database.check(gone)
    assert found.state == FAIL and found.text.startswith(
        "cannot open postgresql+asyncpg://postgres:***@127.0.0.1:")
    fresh = from_mapping({}, {"TICKETBOT_DATABASE_URL":
                              f"sqlite+aiosqlite:///{tmp_path / 'new' / 'tb.db'}"})
    assert await database.check(fresh) == [Finding("database", OK, (
        f"{tmp_path / 'new' / 'tb.db'} does not exist yet; `ticketbot run` (or `ticketbot db "
        f"upgrade`) creates it"))]
