"""Different mails that reuse one Message-ID are all kept (their content decides), and the
collision is written on the later mail's inbound row, where staff see it; the same mail
arriving twice, by two routes, is still stored once. Through the SMTP intake's store and
through IMAP on the real Dovecot."""

from __future__ import annotations

from typing import Any

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.channels.email.receive.mailbox import MailboxSync, fetch_once
from bot.runtime import App
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import SUPPORT, Dovecot, clock, db_file, dovecot, mail, runtime

__all__ = ["clock", "db_file", "dovecot", "runtime"]  # fixtures

SHARED = "<same@acme.example>"


async def inbound(rt: App) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await export_all(rt.db))["inbound"]
    return rows


async def test_two_different_mails_with_one_message_id_are_both_kept_and_flagged(
        runtime: App) -> None:
    at = runtime.bus.clock.now()
    first = await raw.keep(runtime.inbound, mail(message_id=SHARED, subject="Printer jams"),
                           at, envelope=[SUPPORT])
    second = await raw.keep(runtime.inbound,
                            mail(message_id=SHARED, subject="VPN is down", body="No VPN."),
                            at, envelope=[SUPPORT])
    assert first is not None and second is not None and first != second
    assert await MailIntake(runtime).drain() == 2
    data = await export_all(runtime.db)
    assert sorted(t["subject"] for t in data["tickets"]) == ["Printer jams", "VPN is down"]
    rows = {r["id"]: r for r in data["inbound"]}
    assert rows[first]["external_id"] == SHARED
    assert rows[second]["status"] == "done"
    assert rows[second]["reason"].startswith(
        f"Message-ID collision: {SHARED} also names inbound {first}, a different mail")


async def test_the_same_mail_by_two_routes_is_stored_once(runtime: App) -> None:
    at = runtime.bus.clock.now()
    body = mail(message_id=SHARED)
    direct = b"Received: from mx1.acme.example by mx.help.example.com\r\n" + body
    via_list = (b"Received: from lists.acme.example by mx.help.example.com\r\n"
                b"Delivered-To: helpdesk@help.example.com\r\n" + body)
    assert await raw.keep(runtime.inbound, direct, at, envelope=[SUPPORT]) is not None
    assert await raw.keep(runtime.inbound, via_list, at,
                          envelope=["support+abc@help.example.com"]) is None
    assert await raw.keep(runtime.inbound, body, at) is None
    assert len(await inbound(runtime)) == 1


async def test_imap_keeps_a_different_mail_reusing_a_message_id(
        runtime: App, dovecot: Dovecot, clock: FixedClock) -> None:
    user = dovecot.new_user()
    await dovecot.deliver(user, mail(message_id=SHARED, subject="Printer jams"))
    await dovecot.deliver(user, mail(message_id=SHARED, subject="Printer jams"))  # a copy
    await dovecot.deliver(user, mail(message_id=SHARED, subject="Toner", body="Out of toner."))
    sync = MailboxSync(dovecot.imap(user), runtime.inbound, runtime.settings.email.max_size,
                       clock)
    assert await fetch_once(sync) == 2
    rows = await inbound(runtime)
    assert [r["uid"] for r in rows] == [1, 3]
    assert rows[1]["reason"].startswith("Message-ID collision")
