"""Starting the channel: a wrong token is a clear error at once; a bot that cannot read the
support group says what to change, in the log and in the staff chat; no token, no channel;
and the token never reaches a log line."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from bot.channels.telegram.cli import _check as check
from bot.channels.telegram.deliver.mirror import telegram_reactors
from bot.channels.telegram.service import telegram_services
from bot.channels.telegram.startup import TelegramStartError
from bot.logs import RedactingFormatter
from bot.storage.telegram_sql import TelegramSqlStore
from config.settings import Settings, TelegramConfig
from tests.fakebotapi import TOKEN
from tests.support_telegram import ANNA, SAM, STAFF, SUPPORT, make_harness


def _url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'tg.db'}"


async def test_a_wrong_token_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    async for h in make_harness(_url(tmp_path), token="123456:REVOKED"):
        with pytest.raises(TelegramStartError) as refused:
            await h.start()
        assert "refused the bot token" in str(refused.value)
        assert "REVOKED" not in str(refused.value)
        assert [c.method for c in h.fake.calls] == ["getme"]


async def test_privacy_mode_is_reported_in_the_log_and_the_staff_chat(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async for h in make_harness(_url(tmp_path)):
        h.fake.admins[SUPPORT] = set()  # not an administrator, privacy mode on
        with caplog.at_level(logging.WARNING, "ticketbot.telegram"):
            await h.start()
        assert "privacy mode is on" in caplog.text and "/setprivacy" in caplog.text
        note = await h.sent(lambda f: f.bot_messages(STAFF))
        assert "I can't read ordinary messages in the support group" in note[0]["text"]


async def test_an_administrator_bot_starts_quietly(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    async for h in make_harness(_url(tmp_path)):
        with caplog.at_level(logging.WARNING, "ticketbot.telegram"):
            await h.start()
            await h.drained()
        assert "privacy" not in caplog.text
        assert h.fake.bot_messages(STAFF) == []
        assert len(h.fake.sent("setmycommands")) == 2  # the menu, in English and Russian


async def test_a_chat_the_bot_is_not_in_is_named_in_the_log(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async for h in make_harness(_url(tmp_path), staff_chat_id=-1007777):
        with caplog.at_level(logging.ERROR, "ticketbot.telegram"):
            await h.start()
        assert "cannot open the staff chat -1007777" in caplog.text


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
async def test_the_token_never_reaches_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                               level: int) -> None:
    # At INFO nothing logs it (httpx is held at WARNING); at DEBUG the library logs its
    # URLs, and the service's formatter (bot/logs.py) masks the token.
    caplog.handler.setFormatter(RedactingFormatter("%(name)s %(message)s"))
    async for h in make_harness(_url(tmp_path)):
        h.fake.fail("getupdates", "502")
        with caplog.at_level(level):
            await h.start()
            q = await h.say(ANNA, "Printer again")
            await h.say(SAM, "/ticket", reply_to=q)
            await h.sent(lambda f: f.bot_messages(SUPPORT))
        assert caplog.records
        assert TOKEN.split(":")[1] not in caplog.text
        if level == logging.INFO:
            assert not [r for r in caplog.records if TOKEN in r.getMessage()]


def test_without_a_token_there_is_no_channel() -> None:
    settings = Settings(telegram=TelegramConfig(token=None, support_chat_id=SUPPORT))
    assert telegram_reactors(settings) == []
    with_token = replace(settings, telegram=replace(settings.telegram, token=TOKEN))
    assert len(telegram_reactors(with_token)) == 1


async def test_telegram_services_is_empty_without_a_token(tmp_path: Path) -> None:
    async for h in make_harness(_url(tmp_path)):
        store = TelegramSqlStore(h.rt.db)
        assert len(telegram_services(h.rt, store)) == 1
        rt = replace(h.rt, settings=replace(h.settings, telegram=TelegramConfig()))
        assert telegram_services(rt, store) == []


async def test_the_check_command_reports_the_setup(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    async for h in make_harness(_url(tmp_path)):
        assert await check(argparse.Namespace(), h.settings) == 0
        assert capsys.readouterr().out == "bot: @desk_bot (id 123456)\nok\n"
        h.fake.admins[SUPPORT] = set()
        assert await check(argparse.Namespace(), h.settings) == 1
        assert "problem: the bot cannot read ordinary group messages" in capsys.readouterr().out
