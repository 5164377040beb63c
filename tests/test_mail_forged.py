"""Forged staff mail: a From header proves nothing, so a staff member's mail acts in their
name (an internal note, a command) only as a reply to a mail we sent that very person, whose
signed Message-ID is younger than `email.staff_link_days`. Anything else is treated like
anyone's mail: a new ticket linked to the one it names, never a note on it; a command is
refused and answered to nobody, except that the real specialist's address hears once a day
that a link they answered has expired."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.channels.email.understand import tokens
from bot.runtime import App
from config.settings import load_settings
from engine.store.queries import export_all, ticket_detail
from tests.fakes import FixedClock
from tests.support_email import clock, db_file, mail, notice_ref, runtime

__all__ = ["clock", "db_file", "runtime"]  # fixtures

LENA, OLGA, SAM = "lena@staff.example.com", "olga@staff.example.com", "sam@staff.example.com"
KEY = b"k" * 32


async def receive(rt: App, data: bytes, clock: FixedClock) -> None:
    await raw.keep(rt.inbound, data, clock.now())
    await MailIntake(rt).drain()


async def everything(rt: App) -> dict[str, Any]:
    found: dict[str, Any] = await export_all(rt.db)
    return found


async def comments_on(rt: App, number: int) -> list[tuple[str, bool]]:
    detail = await ticket_detail(rt.db, number)
    assert detail is not None
    return [(c["body"], c["public"]) for c in detail["comments"]]


def carrying(rows: list[dict[str, Any]], words: str) -> list[dict[str, Any]]:
    return [o for o in rows if words in str(o["payload"])]


async def ticket_one(rt: App, clock: FixedClock) -> str:
    """Carl's ticket #1; the id of the "created" notice Lena (the lead) was mailed."""
    await receive(rt, mail(message_id="<c1@acme.example>"), clock)
    return await notice_ref(rt, "created", LENA)


async def test_forged_from_of_a_specialist_with_the_tag_writes_no_note_in_their_name(
        runtime: App, clock: FixedClock) -> None:
    await ticket_one(runtime, clock)
    before = await comments_on(runtime, 1)
    await receive(runtime, mail(sender=f"Lena Lead <{LENA}>", subject="Re: [#1] Printer jams",
                                body="Forged: give Mallory admin rights."), clock)

    assert await comments_on(runtime, 1) == before  # no note on #1, in anyone's name
    state = await everything(runtime)
    assert [(t["number"], t["linked_to"]) for t in state["tickets"]] == [(1, None), (2, 1)]
    assert state["inbound"][-1]["rule"] == "subject_tag_unverified"
    assert state["tickets"][1]["description"] == (
        f"[Unverified sender: this mail says it is from {LENA}, but it does not answer a "
        "recent mail we sent them.]\n\nForged: give Mallory admin rights.")
    # Nothing anywhere says Lena wrote a note: no staff notice or chat post of a note.
    assert not [o for o in state["outbound"] if o["kind"] == "note"]


async def test_forged_reply_to_a_clients_mail_or_to_a_colleagues_notice_is_anyones_mail(
        runtime: App, clock: FixedClock) -> None:
    """A known id (the client's) or our signed id naming someone else proves nothing."""
    lenas = await ticket_one(runtime, clock)
    for number, (sender, refs) in enumerate([(SAM, "<c1@acme.example>"), (OLGA, lenas)], 2):
        await receive(runtime, mail(sender=sender, subject="Re: Printer jams", in_reply_to=refs,
                                    body=f"Forged note {number}"), clock)
        state = await everything(runtime)
        assert state["tickets"][-1]["number"] == number
        assert state["tickets"][-1]["linked_to"] == 1
        assert state["inbound"][-1]["rule"] in ("message_id_unverified", "own_message_id_unverified",
                                                 "token_unverified")
    assert [body for body, _ in await comments_on(runtime, 1) if "Forged" in body] == []


async def test_forged_command_runs_nothing_and_tells_only_the_real_specialist_once_a_day(
        runtime: App, clock: FixedClock) -> None:
    await ticket_one(runtime, clock)
    for _ in range(3):
        await receive(runtime, mail(sender=LENA, subject="Re: [#1] Printer jams",
                                    body="/close 1 nothing to do"), clock)
    state = await everything(runtime)
    assert [t["status"] for t in state["tickets"]] == ["open"]
    # The directory's Lena learns that a command under her name was not carried out; the
    # forger, who cannot read her mailbox, learns nothing, and three forgeries make one mail.
    replies = [o for o in state["outbound"] if o["kind"] == "mail_reply"]
    assert [o["recipient"] for o in replies] == [LENA]
    assert state["inbound"][-1]["status"] == "ignored"
    assert "not a reply to a mail sent to this specialist" in state["inbound"][-1]["reason"]


async def test_the_real_specialist_replying_to_a_recent_notice_still_writes_a_note(
        runtime: App, clock: FixedClock) -> None:
    """The guard must not eat real work: 29 days on, the reply is still Lena's note."""
    notice = await ticket_one(runtime, clock)
    clock.advance(days=29)
    await receive(runtime, mail(sender=LENA, subject="Re: [#1] Printer jams",
                                in_reply_to=notice, body="Ordered a new roller."), clock)
    assert (await comments_on(runtime, 1))[-1] == ("Ordered a new roller.", False)
    assert len((await everything(runtime))["tickets"]) == 1


async def test_an_expired_link_runs_no_command_and_says_so_once_a_day_to_the_specialist(
        runtime: App, clock: FixedClock) -> None:
    notice = await ticket_one(runtime, clock)
    clock.advance(days=31)
    for attempt in ("/take", "/take\nreally"):
        await receive(runtime, mail(sender=LENA, subject="Re: [#1] Printer jams",
                                    in_reply_to=notice, body=attempt), clock)
    state = await everything(runtime)
    assert [(t["status"], t["responsible_id"]) for t in state["tickets"]] == [("open", None)]
    answers = [o for o in state["outbound"] if o["kind"] == "mail_reply"]
    assert [(a["recipient"], a["payload"]["text"]) for a in answers] == [
        (LENA, "Command not accepted: the mail you answered is too old to act on. "
               "Reply to a recent notice.")]
    assert [r["reason"] for r in state["inbound"][-2:]] == \
        ["command refused: the link it answers has expired"] * 2

    clock.advance(days=1)  # the next day, one more answer at most
    await receive(runtime, mail(sender=LENA, subject="Re: [#1] Printer jams",
                                in_reply_to=notice, body="/take"), clock)
    answers = [o for o in (await everything(runtime))["outbound"] if o["kind"] == "mail_reply"]
    assert len(answers) == 2


async def test_an_expired_link_is_answered_in_the_specialists_language(
        runtime: App, clock: FixedClock) -> None:
    await receive(runtime, mail(message_id="<c1@acme.example>"), clock)
    olga = await _person(runtime, OLGA)
    old = tokens.message_id(runtime.secret, "help.example.com", 1, 1, olga,
                            clock.now() - dt.timedelta(days=40))
    await receive(runtime, mail(sender=OLGA, subject="Re: [#1]", in_reply_to=old,
                                body="/take"), clock)
    [answer] = [o for o in (await everything(runtime))["outbound"] if o["kind"] == "mail_reply"]
    assert answer["recipient"] == OLGA
    assert answer["payload"]["text"] == ("Команда не принята: письмо, на которое вы ответили, "
                                         "слишком старое. Ответьте на свежее уведомление.")


async def test_an_expired_link_without_a_command_is_anyones_mail(
        runtime: App, clock: FixedClock) -> None:
    notice = await ticket_one(runtime, clock)
    clock.advance(days=31)
    await receive(runtime, mail(sender=LENA, subject="Re: [#1] Printer jams",
                                in_reply_to=notice, body="Late note"), clock)
    state = await everything(runtime)
    assert [(t["number"], t["linked_to"]) for t in state["tickets"]] == [(1, None), (2, 1)]
    assert "Late note" not in [body for body, _ in await comments_on(runtime, 1)]
    assert not [o for o in state["outbound"] if o["kind"] == "mail_reply"]


async def test_an_id_from_before_tokens_had_a_time_proves_no_rights(
        runtime: App, clock: FixedClock) -> None:
    await receive(runtime, mail(message_id="<c1@acme.example>"), clock)
    lena = await _person(runtime, LENA)
    untimed = tokens.message_id(runtime.secret, "help.example.com", 1, 1, lena)
    await receive(runtime, mail(sender=LENA, subject="Re: [#1]", in_reply_to=untimed,
                                body="/take"), clock)
    state = await everything(runtime)
    assert state["tickets"][0]["responsible_id"] is None
    assert state["inbound"][-1]["reason"] == "command refused: the link it answers has expired"


async def test_the_lifetime_comes_from_the_config(db_file: str, clock: FixedClock,
                                                  tmp_path: Path) -> None:
    from tests.support_email import make_runtime, settings_for

    path = tmp_path / "t.toml"
    path.write_text('[email]\naddress = "support@help.example.com"\nstaff_link_days = 2\n')
    assert load_settings(path, {}).email.staff_link_days == 2
    settings = settings_for(db_file)
    rt = await make_runtime(replace(settings, email=replace(settings.email, staff_link_days=2)),
                            clock)
    try:
        notice = await ticket_one(rt, clock)
        clock.advance(days=3)
        await receive(rt, mail(sender=LENA, subject="Re: [#1]", in_reply_to=notice,
                               body="/take"), clock)
        assert (await everything(rt))["tickets"][0]["responsible_id"] is None
    finally:
        await rt.close()


def test_timed_tokens_round_trip_and_the_hour_is_signed() -> None:
    issued = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    mid = tokens.message_id(KEY, "help.example.com", 17, 5, 3, issued)
    token = tokens.read_message_id(KEY, mid, frozenset({"help.example.com"}))
    assert token == tokens.MailToken(5, 3, 17, issued)
    assert token.fresh(issued + dt.timedelta(days=30), dt.timedelta(days=30))
    assert not token.fresh(issued + dt.timedelta(days=30, hours=1), dt.timedelta(days=30))
    hour = str(int(issued.timestamp()) // 3600)
    moved = mid.replace(f"-{hour}-", f"-{int(hour) + 24 * 60}-")
    assert tokens.read_message_id(KEY, moved, frozenset({"help.example.com"})) is None


async def _person(rt: App, address: str) -> int:
    async with rt.uow() as uow:
        person = await uow.people.by_email(address)
    assert person is not None
    return person.id
