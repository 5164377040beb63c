"""Commands by mail (F6): only from a staff address AND only as a reply to a mail the bot
sent to that very person; refusals recorded, explained to a verified specialist in their
language, never answered to strangers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.act.process import MailContext, MailProcessor
from bot.channels.email.act.session import direct
from bot.channels.email.receive import raw
from bot.channels.email.understand.identity import MailIdentity
from bot.runtime import App
from engine import commands as c
from engine.store.queries import export_all, ticket_detail
from tests.support_email import clock, db_file, mail, person_id, runtime

__all__ = ["clock", "db_file", "runtime"]  # fixtures

AT = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
LENA, OLGA = "lena@staff.example.com", "olga@staff.example.com"


async def receive(rt: App, data: bytes) -> None:
    await raw.keep(rt.inbound, data, AT)
    await MailIntake(rt).drain()


async def outbound(rt: App) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await export_all(rt.db))["outbound"]
    return rows


async def last_inbound(rt: App) -> dict[str, Any]:
    row: dict[str, Any] = (await export_all(rt.db))["inbound"][-1]
    return row


async def notice_id(rt: App, kind: str, recipient: str) -> str:
    """The Message-ID the sender gives that outbox row (deterministic per row)."""
    row = next(o for o in await outbound(rt) if o["kind"] == kind and o["recipient"] == recipient)
    return MailIdentity.of(rt.settings, rt.secret).message_id(
        row["id"], row["ticket"], row["person_id"], dt.datetime.fromisoformat(row["created_at"]))


async def ticket(rt: App, number: int = 1) -> dict[str, Any]:
    found = await ticket_detail(rt.db, number)
    assert found is not None
    return found


async def opened(rt: App) -> str:
    """A client's ticket #1, and the id of the "created" notice the lead got."""
    await receive(rt, mail(message_id="<c1@acme.example>"))
    return await notice_id(rt, "created", LENA)


async def test_take_by_reply_to_a_notification(runtime: App) -> None:
    ref = await opened(runtime)
    await receive(runtime, mail(sender=LENA, subject="Re: [#1] New ticket", in_reply_to=ref,
                                body="/take\nI will look at it today.\n\n> New ticket #1"))
    t = await ticket(runtime)
    assert (t["status"], t["responsible_id"]) == ("in_progress", await person_id(runtime, LENA))
    assert (t["comments"][-1]["body"], t["comments"][-1]["public"]) == \
        ("I will look at it today.", False)
    row = await last_inbound(runtime)
    assert (row["status"], row["rule"], row["reason"]) == ("done", "command", "command /take")


async def test_close_with_text_answers_the_client(runtime: App) -> None:
    ref = await opened(runtime)
    await receive(runtime, mail(sender=LENA, in_reply_to=ref,
                                body="/close fixed the printer"))
    t = await ticket(runtime)
    assert t["status"] == "closed"
    assert (t["comments"][-1]["body"], t["comments"][-1]["public"]) == ("fixed the printer", True)
    kinds = [(o["kind"], o["recipient"]) for o in await outbound(runtime)]
    assert ("comment", "carl@acme.example") in kinds


async def test_status_waiting_with_a_date(runtime: App) -> None:
    ref = await opened(runtime)
    await receive(runtime, mail(sender=LENA, in_reply_to=ref, body="/status waiting 2026-12-01"))
    t = await ticket(runtime)
    assert t["status"] == "waiting" and t["waiting_until"].startswith("2026-12-01")


async def test_a_forged_from_is_refused_and_not_answered(runtime: App) -> None:
    """The mail answers the ack sent to the client: its token names the client, not Lena.
    Whoever wrote it hears nothing; Lena, at her own address from the directory, learns
    that a command under her name was not carried out."""
    await opened(runtime)
    ack = await notice_id(runtime, "ack", "carl@acme.example")
    before = len(await outbound(runtime))
    await receive(runtime, mail(sender=LENA, in_reply_to=ack, body="/close"))
    assert (await ticket(runtime))["status"] == "open"
    row = await last_inbound(runtime)
    assert (row["status"], row["rule"]) == ("ignored", "command")
    assert "not a reply" in row["reason"]
    [answer] = (await outbound(runtime))[before:]
    assert (answer["kind"], answer["recipient"]) == ("mail_reply", LENA)
    assert answer["payload"]["text"].startswith("Your command was not carried out")


async def test_a_command_in_a_fresh_mail_is_refused(runtime: App) -> None:
    await opened(runtime)
    await receive(runtime, mail(sender=LENA, subject="[#1]", body="/close 1"))
    assert (await ticket(runtime))["status"] == "open"
    assert (await last_inbound(runtime))["status"] == "ignored"


async def test_a_clients_slash_line_is_just_text(runtime: App) -> None:
    await receive(runtime, mail(message_id="<c1@acme.example>"))
    ack = await notice_id(runtime, "ack", "carl@acme.example")
    await receive(runtime, mail(in_reply_to=ack, body="/close please"))
    t = await ticket(runtime)
    assert t["status"] == "open"
    assert t["comments"][-1]["body"] == "/close please"


async def test_an_unknown_command_is_explained_to_the_specialist(runtime: App) -> None:
    ref = await opened(runtime)
    await receive(runtime, mail(sender=LENA, in_reply_to=ref, body="/frobnicate"))
    [reply] = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"]
    assert reply["recipient"] == LENA
    assert reply["payload"]["text"] == "I don't know /frobnicate. See /help."
    assert (await last_inbound(runtime))["reason"] == "command error: unknown_command"


async def test_an_engine_refusal_is_explained_in_the_specialists_language(
        runtime: App) -> None:
    await opened(runtime)
    lena, olga = await person_id(runtime, LENA), await person_id(runtime, OLGA)
    await runtime.bus.handle(c.Assign(actor=lena, channel="email", ticket=1, person_id=olga))
    ref = await notice_id(runtime, "assigned", OLGA)
    await receive(runtime, mail(sender=OLGA, in_reply_to=ref, body="/priority extreme"))
    [reply] = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"]
    assert reply["recipient"] == OLGA and reply["language"] == "ru"
    assert "extreme" in reply["payload"]["text"] and "приоритет" in reply["payload"]["text"]
    assert (await ticket(runtime))["priority"] == "normal"


async def test_help_by_mail_lists_mail_commands(runtime: App) -> None:
    ref = await opened(runtime)
    await receive(runtime, mail(sender=LENA, in_reply_to=ref, body="/help"))
    [reply] = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"]
    # "/ticket " with its space: /tickets (F11) works by mail.
    assert "/take" in reply["payload"]["text"] and "/ticket " not in reply["payload"]["text"]


async def test_a_replayed_command_mail_runs_once(runtime: App) -> None:
    ref = await opened(runtime)
    await raw.keep(runtime.inbound, mail(sender=LENA, in_reply_to=ref, body="/close done"), AT)
    [row] = await runtime.inbound.pending(raw.CHANNEL, 10)
    processor = MailProcessor(MailContext.of(runtime), direct(runtime))
    first, second = await processor.handle(row), await processor.handle(row)
    assert (first.reason, second.rule) == ("command /close", "replay")
    [done] = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"]
    assert done["payload"]["text"].startswith("Done: /close.")


async def test_a_refusal_inside_a_batch_changes_nothing_else(runtime: App) -> None:
    """Three mails drained together; the engine refuses the middle one: the batch is redone
    mail by mail, so the others still count once and the refusal is answered once."""
    ref = await opened(runtime)
    for data in (mail(sender=LENA, in_reply_to=ref, body="/priority extreme"),
                 mail(message_id="<other@acme.example>", subject="Scanner"),
                 mail(sender=LENA, in_reply_to=ref, body="/take")):
        await raw.keep(runtime.inbound, data, AT)
    assert await MailIntake(runtime).drain() == 3
    replies = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"]
    # The refusal and the /take's "done", each once.
    assert [r["recipient"] for r in replies] == [LENA, LENA]
    assert "extreme" in replies[0]["payload"]["text"]
    assert replies[1]["payload"]["text"].startswith("Done: /take.")
    t1, t2 = await ticket(runtime, 1), await ticket(runtime, 2)
    assert (t1["priority"], t1["status"], t2["subject"]) == ("normal", "in_progress", "Scanner")
    assert [r["status"] for r in (await export_all(runtime.db))["inbound"]] == \
        ["done", "ignored", "done", "done"]


async def test_every_mailed_command_is_answered_with_the_new_state(runtime: App) -> None:
    """A mailed /resolve is not silently done: Lena gets "done" and the ticket as it is
    now, in her language; /assign takes a name from the directory too (Olga has no
    Telegram), and Olga's own mail says it in Russian."""
    ref = await opened(runtime)
    await receive(runtime, mail(sender=LENA, in_reply_to=ref, body="/assign olga"))
    assert (await ticket(runtime))["responsible_id"] == await person_id(runtime, OLGA)
    await receive(runtime, mail(sender=LENA, in_reply_to=ref, body="/resolve"))
    replies = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"]
    assert [r["recipient"] for r in replies] == [LENA, LENA]
    text = replies[1]["payload"]["text"]
    assert text.startswith("Done: /resolve.\n\nTicket #1: Printer jams\nStatus: resolved")
    assert "Responsible: Olga Spec" in text
    assigned = await notice_id(runtime, "assigned", OLGA)
    await receive(runtime, mail(sender=OLGA, in_reply_to=assigned, body="/reopen"))
    last = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"][-1]
    assert last["recipient"] == OLGA
    assert last["payload"]["text"].startswith("Готово: /reopen.")


async def test_a_client_asks_by_mail_and_gets_their_own_tickets(runtime: App) -> None:
    """"/status" as the first line: no new ticket; the answer lists the sender's tickets
    only (not a colleague's of the same company), to the sender's address."""
    await opened(runtime)  # Carl's #1
    await receive(runtime, mail(sender="dana@acme.example", subject="VPN",
                                message_id="<d1@acme.example>"))  # Dana's #2, same company
    await receive(runtime, mail(subject="where is it?", body="/status\n\nThanks, Carl",
                                message_id="<c2@acme.example>"))
    assert len((await export_all(runtime.db))["tickets"]) == 2  # no new ticket
    [answer] = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"]
    assert answer["recipient"] == "carl@acme.example"
    assert answer["payload"]["text"] == ("Your requests:\n\n#1 Printer jams: open, handled "
                                         "by nobody yet")
    assert (await last_inbound(runtime))["status"] == "done"


async def test_a_newcomer_asking_status_learns_nothing_and_opens_nothing(runtime: App) -> None:
    await opened(runtime)
    await receive(runtime, mail(sender="mallory@evil.example", body="/my",
                                message_id="<x1@evil.example>"))
    assert len((await export_all(runtime.db))["tickets"]) == 1
    [answer] = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"]
    assert (answer["recipient"], answer["payload"]["text"]) == (
        "mallory@evil.example", "We have no requests from this address.")


async def test_status_by_mail_shows_every_sla_target_to_staff(runtime: App) -> None:
    ref = await opened(runtime)
    await receive(runtime, mail(sender=LENA, in_reply_to=ref, body="/status"))
    [answer] = [o for o in await outbound(runtime) if o["kind"] == "mail_reply"]
    text = answer["payload"]["text"]
    assert text.startswith("Ticket #1: Printer jams\nStatus: open")
    assert "SLA (" in text
    assert "First response: due " in text and "of business time left" in text
    assert "Resolution: due " in text
