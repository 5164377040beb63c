"""Channels switched off in the config start nothing; a channel that cannot start is one
log line naming the key, is retried, and does not keep the others from working."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import bootstrap
from bot.serve import Served, serve
from config.settings import from_mapping
from engine.backoff import Backoff
from tests.fakebotapi import TOKEN
from tests.support_email import free_port, mail

IMAP = {"host": "127.0.0.1", "user": "u", "password": "p"}


def _settings(tmp_path: Path, email: dict[str, Any], telegram: dict[str, Any]) -> Any:
    data = {"service": {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'tb.db'}",
                        "timezone": "UTC"},
            "email": email, "telegram": telegram}
    return from_mapping(data, {"TICKETBOT_TELEGRAM_TOKEN": TOKEN, "TICKETBOT_SECRET": "s"})


@pytest.mark.parametrize(("email", "telegram", "names"), [
    ({"listen_port": 0, "imap": IMAP}, {}, ["email-processor", "email-sender (no relay)",
                                            "email-smtp 127.0.0.1:0", "email-imap", "telegram",
                                            "scheduler"]),
    ({"smtp_intake": {"enabled": False}, "imap": {**IMAP, "enabled": False}},
     {"enabled": False}, ["email-processor", "email-sender (no relay)", "scheduler"]),
])
async def test_switched_off_channels_start_nothing(tmp_path: Path, email: dict[str, Any],
                                                   telegram: dict[str, Any],
                                                   names: list[str]) -> None:
    settings = _settings(tmp_path, email, telegram)
    app = await bootstrap(settings)
    try:
        assert [s.name.split(" u@")[0] for s in app.services] == names
    finally:
        await app.close()
    if telegram == {"enabled": False}:
        assert settings.telegram.token is None  # nothing of the channel runs on a token


async def test_a_taken_port_is_one_line_and_retried_while_the_rest_works(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "ticketbot")
    port = free_port()
    blocker = socket.create_server(("127.0.0.1", port))
    settings = _settings(tmp_path, {"listen_port": port}, {"enabled": False})
    stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop=stop, backoff=Backoff(first=0.05, cap=0.05),
                                     started=ready.set_result))
    try:
        served: Served = await asyncio.wait_for(ready, 30)
        supervisor = served.supervisor
        names = [s.name for s in served.app.services]
        intake = f"email-smtp 127.0.0.1:{port}"
        assert list(supervisor.failed) == [intake]
        assert {names[i] for i in supervisor.running} == set(names) - {intake}
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert [r.getMessage() for r in errors] == [
            f"{intake} did not start: email.listen_port: cannot listen on 127.0.0.1:{port} "
            f"(Address already in use); free the port, "
            f"choose another one, or switch the intake off with [email.smtp_intake] "
            f"enabled = false (the other channels keep working; retrying)"]
        assert not any(r.exc_info for r in caplog.records)  # no traceback
        blocker.close()
        async with supervisor.changed:
            await asyncio.wait_for(supervisor.changed.wait_for(lambda: not supervisor.failed),
                                   30)
        # The intake took the port after all: a client's mail is accepted.
        await asyncio.to_thread(_send, port, mail())
        assert f"started {intake} after all" in caplog.text
    finally:
        blocker.close()
        stop.set()
        await asyncio.wait_for(task, 30)


def _send(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.sendmail("carl@acme.example", ["support@localhost"], raw)
