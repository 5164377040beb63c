"""A mail processing gave up on (quarantined) is listed for staff with its sender, subject
and reason, and rescued: processed again once the cause is fixed. SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import pytest

from bot.channels.email import cli as mail_cli
from bot.channels.email.act.fate import Fate
from bot.channels.email.act.intake import MailIntake
from bot.channels.email.act.process import IncomingMail, MailProcessor
from bot.channels.email.receive import raw
from bot.runtime import App
from engine.inbox import InboundRow
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import mail, make_runtime, settings_for


class BrokenForPoison(MailProcessor):
    """A bug that breaks on one mail (fixed by the time staff rescue it)."""

    async def handle(self, row: InboundRow, inc: IncomingMail | None = None) -> Fate:
        if row.external_id == "<poison@acme.example>":
            raise RuntimeError("bug in the parser")
        return await super().handle(row, inc)


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_url), FixedClock())
    yield rt
    await rt.close()


async def cli(rt: App, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    mail_cli.register(parser.add_subparsers())
    args = parser.parse_args(["mail", *argv])
    code: int = await args.func(args, rt.settings)
    return code


async def test_staff_list_a_quarantined_mail_and_rescue_it(
        app: App, capsys: pytest.CaptureFixture[str]) -> None:
    at = app.bus.clock.now()
    poison = await raw.keep(app.inbound, mail(message_id="<poison@acme.example>",
                                              subject="Scanner broken"), at)
    await raw.keep(app.inbound, mail(message_id="<fine@acme.example>"), at)
    intake = MailIntake(app, max_attempts=2, processor=BrokenForPoison)
    assert await intake.drain() == 1
    assert await intake.drain() == 0
    assert await cli(app, "quarantined") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{poison}\t") and "carl@acme.example" in out
    assert "Scanner broken" in out and "after 2 attempts: RuntimeError: bug in the parser" in out

    assert await cli(app, "rescue", str(poison)) == 0
    assert f"mail {poison}: done" in capsys.readouterr().out
    data = await export_all(app.db)
    assert sorted(t["subject"] for t in data["tickets"]) == ["Printer jams", "Scanner broken"]
    assert await cli(app, "quarantined") == 0
    assert "no mail is quarantined" in capsys.readouterr().out


async def test_rescuing_a_mail_that_is_not_quarantined_is_refused(
        app: App, capsys: pytest.CaptureFixture[str]) -> None:
    fine = await raw.keep(app.inbound, mail(message_id="<ok@acme.example>"),
                          app.bus.clock.now())
    await MailIntake(app).drain()
    before = await export_all(app.db)
    assert await cli(app, "rescue", str(fine)) == 1
    assert f"There is no ignored mail {fine}" in capsys.readouterr().err
    assert await export_all(app.db) == before
