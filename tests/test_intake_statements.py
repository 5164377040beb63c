"""What a new client's mail costs the database (issue 15): each statement is a greenlet
switch, a compile-cache lookup and, on SQLite, a thread hop; a cron `mail fetch --once` of
400 mails spent over a second of CPU on them. Pinned here, so a second read of the same
person or a rewrite of the row just inserted cannot creep back."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.act.process import MailContext, MailProcessor
from bot.channels.email.act.session import direct
from bot.channels.email.receive import raw
from bot.runtime import App
from engine.inbox import RawMail
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import mail, make_runtime, settings_for
from tests.test_desk_events import T0

# One new client's mail, in a batch: the intake's read of the sender (whether the mail was
# applied before is read once for the whole batch), then the contact it registers (person,
# address, desk event) and the ticket it opens (number, row with its SLA deadlines, first
# comment, the search rows of its subject and comment, the mail's ref, the event, the
# acknowledgement and the lead's notice).
PER_NEW_MAIL = Counter({
    "SELECT people": 1,
    "INSERT people": 1, "INSERT person_emails": 1, "INSERT events": 2,
    "UPDATE counters": 1, "INSERT tickets": 1, "INSERT comments": 1,
    "INSERT search_docs": 1, "INSERT message_refs": 1, "INSERT outbox": 2,
})
_TABLE = re.compile(r'^\s*(?:(SELECT)\b.*?\bFROM|(INSERT) INTO|(UPDATE)|(DELETE) FROM)\s+"?(\w+)',
                    re.IGNORECASE | re.DOTALL)


def _kind(statement: str) -> str:
    """`INSERT tickets`, `SELECT people`: the verb and the first table it names."""
    found = _TABLE.match(statement)
    if found is None:
        return statement.split()[0].upper()
    verb = next(v for v in found.groups()[:4] if v)
    return f"{verb.upper()} {found.group(5)}"


@pytest.fixture
async def desk(db_url: str) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_url), FixedClock())
    yield rt
    await rt.close()


async def _drained(desk: App, intake: MailIntake, first: int, n: int) -> Counter[str]:
    """The statements of one drain of `n` mails, each from a client nobody knows yet."""
    for i in range(first, first + n):
        await raw.keep(desk.inbound, mail(sender=f"New Client {i} <new{i}@org{i}.example>",
                                          subject=f"Printer {i} jams"), T0)
    seen: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen[_kind(statement)] += 1

    event.listen(desk.db.sync_engine, "before_cursor_execute", count)
    try:
        assert await intake.drain() == n
    finally:
        event.remove(desk.db.sync_engine, "before_cursor_execute", count)
    return seen


async def test_a_new_clients_mail_costs_twelve_statements(desk: App) -> None:
    # One batch per drain whatever the machine's load: the difference of two drains is
    # what the mails cost, the batch's own reads and writes cancel out.
    intake = MailIntake(desk, hold_seconds=60)
    few = await _drained(desk, intake, 0, 2)
    many = await _drained(desk, intake, 2, 7)
    per_five_mails = many - few
    assert {k: v / 5 for k, v in per_five_mails.items()} == dict(PER_NEW_MAIL)
    assert PER_NEW_MAIL.total() == 12
    # What the mails did: a client, a ticket with its deadlines and an acknowledgement
    # each; the lead heard of each ticket, and nobody else got anything.
    data = await export_all(desk.db)
    clients = {p["emails"][0]: p["id"] for p in data["people"] if p["role"] == "client"}
    new = [clients[f"new{i}@org{i}.example"] for i in range(9)]
    assert [t["requester_id"] for t in data["tickets"]] == new
    assert all(t["first_response_due"] and t["resolution_due"] for t in data["tickets"])
    acks = [(o["recipient"], o["ticket"]) for o in data["outbound"] if o["kind"] == "ack"]
    assert acks == [(f"new{i}@org{i}.example", t["number"])
                    for i, t in enumerate(data["tickets"])]
    assert {o["recipient"] for o in data["outbound"] if o["kind"] != "ack"} == {
        "lena@staff.example.com"}


async def test_a_batch_still_finds_a_mail_applied_before_its_row_was_finished(
        desk: App) -> None:
    """The batch reads which of its mails were applied before in one query, ahead of them
    all (a crash after the engine's commit, before `finish`): that one is a replay, and a
    mail applied within the batch is not mistaken for one."""
    for ref in ("<once@org.example>", "<new@org.example>"):
        await raw.keep(desk.inbound, mail(sender="new@org.example", message_id=ref,
                                          subject=ref), T0)
    row = (await desk.inbound.pending(raw.CHANNEL, 10))[0]
    await MailProcessor(MailContext.of(desk), direct(desk)).handle(row)  # not finished
    assert await MailIntake(desk, hold_seconds=60).drain() == 2
    data = await export_all(desk.db)
    assert [(r["status"], r["ticket"], r["rule"]) for r in data["inbound"]] == [
        ("done", 1, "replay"), ("done", 2, "new")]
    assert len(data["tickets"]) == 2


async def test_a_fetched_batch_is_stored_in_one_statement(desk: App) -> None:
    """The IMAP fetch stores its batch with one INSERT; a Message-ID stored before, or
    twice in the batch, gets no new row (None: the caller compares the contents)."""
    def raw_mail(ref: str, uid: int) -> RawMail:
        return RawMail(ref, mail(message_id=ref), T0, "INBOX", uid)

    assert await desk.inbound.store_mails(raw.CHANNEL, [raw_mail("<a@x>", 1)], T0) == [1]
    seen: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen[_kind(statement)] += 1

    event.listen(desk.db.sync_engine, "before_cursor_execute", count)
    try:
        ids = await desk.inbound.store_mails(raw.CHANNEL, [
            raw_mail("<b@x>", 2), raw_mail("<a@x>", 3), raw_mail("<c@x>", 4),
            raw_mail("<b@x>", 5)], T0)
    finally:
        event.remove(desk.db.sync_engine, "before_cursor_execute", count)
    assert seen["INSERT inbound"] == 1
    stored = {r.external_id: (r.id, r.uid) for r in await desk.inbound.pending(raw.CHANNEL, 10)}
    assert stored == {"<a@x>": (1, 1), "<b@x>": (ids[0], 2), "<c@x>": (ids[2], 4)}
    assert ids[1] is None and ids[3] is None and None not in (ids[0], ids[2])
