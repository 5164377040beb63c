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
from engine import commands as c
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
    # Staff see who sent it through again, in the export's desk events; it was never judged
    # machine mail, so Carl gets his acknowledgement for it like for any new ticket, once.
    assert [(d["actor"], d["channel"], d["payload"]) for d in data["desk_events"]
            if d["kind"] == "mail_requeued"] == [(None, "cli", {"inbound_id": poison})]
    scanner = next(t["number"] for t in data["tickets"] if t["subject"] == "Scanner broken")
    assert sorted((o["recipient"], o["kind"]) for o in data["outbound"]
                  if o["ticket"] == scanner and o["channel"] == "email") == [
        ("carl@acme.example", "ack"), ("lena@staff.example.com", "created")]
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


async def test_a_quarantined_mail_is_requeued_only_through_the_engine(app: App) -> None:
    """A client (or anyone the engine refuses) leaves the mail where it is: quarantined,
    with nothing recorded; a mail that is not quarantined is not requeued."""
    from bot.channels.email.act.rescue import Rescuer
    from engine import errors

    at = app.bus.clock.now()
    poison = await raw.keep(app.inbound, mail(message_id="<poison@acme.example>"), at)
    assert poison is not None
    await MailIntake(app, max_attempts=1, processor=BrokenForPoison).drain()
    carl = await app.bus.handle(c.RegisterContact(
        actor=None, channel="email", at=at, address="carl@acme.example", name="Carl",
        company_id=None, language="en"))
    before = await export_all(app.db)
    rescuer = Rescuer(app.settings, app.bus, app.views, app.inbound)
    with pytest.raises(errors.NotAllowed):
        await rescuer.requeue(poison, actor=carl.contact, channel="email", at=at)
    with pytest.raises(errors.QuarantinedMailNotFound):
        await rescuer.requeue(poison + 1, actor=None, channel="cli", at=at)
    assert await export_all(app.db) == before
    row = await app.inbound.get(poison)
    assert row is not None and row.status == "quarantined"
