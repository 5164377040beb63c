"""`ticketbot run` as a process: a channel that cannot start is one log line and the others
answer; logs as JSON with no secret in them; `ticketbot reload` (SIGHUP) applies a new
specialist without dropping a connection; and a stop by SIGTERM is clean."""

from __future__ import annotations

import asyncio
import json
import smtplib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakebotapi import TOKEN, FakeBotAPI, Running, User, serve
from tests.support_cli import Service, clean_env, serving, ticketbot
from tests.support_email import free_port, mail
from tests.support_telegram import LENA, STAFF, SUPPORT

NINA = User(301, "Nina", "nina_ops")
SECRET = "desk-signing-key-2718"


@pytest.fixture
async def bot_api() -> AsyncIterator[Running]:
    fake = FakeBotAPI()
    fake.add_chat(SUPPORT, "Support")
    fake.add_chat(STAFF, "Specialists")
    running = await serve(fake)
    yield running
    await running.close()


def _config(tmp_path: Path, api: str, port: int, *, nina: bool = False,
            level: str = "INFO") -> Path:
    path = tmp_path / "ticketbot.toml"
    people = ('\n[[people]]\nname = "Nina Ops"\nrole = "specialist"\n'
              f'telegram_id = {NINA.id}\n') if nina else ""
    path.write_text(f"""
[service]
database_url = "sqlite+aiosqlite:///{tmp_path / 'data' / 'tb.db'}"
timezone = "UTC"
log_level = "{level}"

[[people]]
name = "Lena Lead"
role = "lead"
telegram_id = {LENA.id}
{people}
[email]
address = "support@desk.test"
listen_port = {port}

[telegram]
api_url = "{api}"
support_chat_id = {SUPPORT}
staff_chat_id = {STAFF}
""")
    return path


def _env() -> dict[str, str]:
    return clean_env(TICKETBOT_TELEGRAM_TOKEN=TOKEN, TICKETBOT_SECRET=SECRET)


async def _answer(fake: FakeBotAPI, user: User, text: str) -> str:
    """What the bot answers `user` in their private chat."""
    before = len(fake.sent("sendmessage", user.id))
    await fake.say(user, user.id, text)
    sent = await fake.wait_for(lambda f: f.sent("sendmessage", user.id)[before:], 30)
    return str(sent[0]["text"])


def _messages(service: Service) -> list[str]:
    return [json.loads(line)["message"] for line in service.lines]


async def test_a_taken_port_leaves_telegram_answering_logs_json_without_secrets(
        tmp_path: Path, bot_api: Running) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    config = _config(tmp_path, bot_api.url, port, level="DEBUG")
    try:
        async with serving("run", "--config", config, "--log-format", "json", cwd=tmp_path,
                           env=_env()) as service:
            await service.line(lambda x: "did not start" in x)
            await service.line(lambda x: "telegram: polling as" in x)
            answer = await _answer(bot_api.fake, LENA, "/queue")
            assert "The queue is empty" in answer
            assert await service.stop() == 0
    finally:
        taken.close()
    messages = _messages(service)  # every line is one JSON object
    failed = [m for m in messages if "did not start" in m]
    assert failed == [
        f"email-smtp 127.0.0.1:{port} did not start: email.listen_port: cannot listen on "
        f"127.0.0.1:{port} (Address already in use); free the port, choose another one, or "
        f"switch the intake off with [email.smtp_intake] enabled = false (the other channels "
        f"keep working; retrying)"]
    assert "started telegram" in messages and messages[-1] == "stopped"
    assert "check OK   time zone: UTC (from [service] timezone; this machine's is " \
        in "\n".join(messages)
    assert not [line for line in service.lines if "Traceback" in line]
    log = service.log()
    assert TOKEN not in log and TOKEN.split(":")[1] not in log and SECRET not in log
    assert not (tmp_path / "data" / "ticketbot.pid").exists()  # removed at a clean stop


async def test_reload_applies_a_new_specialist_without_dropping_connections(
        tmp_path: Path, bot_api: Running) -> None:
    port = free_port()
    config = _config(tmp_path, bot_api.url, port)
    fake = bot_api.fake
    async with serving("run", "--config", config, cwd=tmp_path, env=_env()) as service:
        await service.line(lambda x: "telegram: polling as" in x)
        await service.line(lambda x: "started email-smtp" in x)
        refused = await _answer(fake, NINA, "/queue")
        assert refused == "This command is for specialists."
        smtp = await asyncio.to_thread(smtplib.SMTP, "127.0.0.1", port)
        try:
            _config(tmp_path, bot_api.url, port, nina=True)
            result = await ticketbot("reload", "--config", config, cwd=tmp_path, env=_env())
            assert result.code == 0, result.err
            pid = service.proc.pid
            assert result.out == (f"asked the service (pid {pid}) to reload people and "
                                  f"companies; its log says what changed\n")
            await service.line(lambda x: "reloaded the directory" in x)
            # The SMTP session opened before the reload still delivers.
            await asyncio.to_thread(smtp.sendmail, "carl@acme.example", ["support@desk.test"],
                                    mail(to="support@desk.test"))
        finally:
            await asyncio.to_thread(smtp.quit)
        await service.line(lambda x: "#1 opened by" in x)  # the mail became a ticket
        # Nina is a specialist now, and sees the ticket of the mail sent on the old session.
        queue = "Unassigned tickets, oldest first:\n#1 · open · Printer jams · ⏱"
        assert (await _answer(fake, NINA, "/queue")).startswith(queue)  # then the SLA left
        # A broken file is refused and the running directory stays.
        config.write_text(config.read_text() + '\n[[companies]]\nname = "X"\nmanager = "no@x"\n')
        result = await ticketbot("reload", "--config", tmp_path / "ok.toml", cwd=tmp_path,
                                 env=_env())
        assert result.code == 2  # that file does not exist: the CLI says so itself
        service.proc.send_signal(1)  # SIGHUP with the broken file in place
        refusal = await service.line(lambda x: "reload refused" in x)
        assert refusal.endswith("reload refused, the running configuration stays: config "
                                "error: companies[0].manager: no declared person has the "
                                "address 'no@x'")
        assert (await _answer(fake, NINA, "/queue")).startswith(queue)
        assert service.proc.returncode is None  # the same process throughout
        assert await service.stop() == 0
    assert sum("started telegram" in line for line in service.lines) == 1
    # Nina wrote before, so she was known as a client: the reload updated her, kept her id.
    assert "reloaded the directory: 2 people (0 new), 0 companies" in service.log()


async def test_reload_without_a_running_service_says_so(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text(f'[service]\ndatabase_url = "sqlite+aiosqlite:///{tmp_path}/d/tb.db"\n')
    result = await ticketbot("reload", "--config", config)
    assert (result.code, result.err) == (
        1, f"ticketbot: no running service found ({tmp_path}/d/ticketbot.pid); nothing to "
           f"reload\n")
