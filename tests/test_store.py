"""The SQL adapters (engine/store) on SQLite and PostgreSQL: every repository round trip,
ticket numbers under concurrency, outbox leases, inbound idempotency, migrations, export."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import random
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from engine import events as e
from engine.bus import MessageBus
from engine.commands import OpenTicket
from engine.directory import CompanySpec, PersonSpec
from engine.inbox import MailboxState
from engine.model import Attachment, Comment, Person, Role, Status, Ticket
from engine.notify.kinds import NoticeKind
from engine.outbox import next_retry
from engine.ports import NewPerson, OutboxItem, StoredEvent, UnitOfWorkFactory
from engine.settings import EngineSettings
from engine.store.db import make_engine, reading
from engine.store.inbound import InboundStore
from engine.store.migrate import current_revision, schema_diff, upgrade
from engine.store.outbox import OutboxStore
from engine.store.queries import export_all, list_tickets, ticket_detail
from engine.store.seed import sync_directory
from engine.store.uow import sql_uow_factory
from engine.store.views import SqlViews

T0 = dt.datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=dt.UTC)
MSK = dt.timezone(dt.timedelta(hours=3))
LEASE = dt.timedelta(seconds=60)


class Clock:
    def __init__(self, now: dt.datetime = T0) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current


def uows(engine: AsyncEngine) -> UnitOfWorkFactory:
    return sql_uow_factory(engine, Clock())


async def person(engine: AsyncEngine, name: str, role: Role = Role.CLIENT,
                 emails: tuple[str, ...] = (), telegram_id: int | None = None) -> Person:
    async with uows(engine)() as uow:
        added = await uow.people.add(NewPerson(name=name, role=role, emails=emails,
                                               telegram_id=telegram_id))
        await uow.commit()
    return added


def full_ticket(number: int, client: Person, staff: Person, lead: Person) -> Ticket:
    return Ticket(
        number=number, subject="Printer on fire", description="Smoke, then silence.",
        status=Status.WAITING, created_at=T0.astimezone(MSK), updated_at=T0 + dt.timedelta(1),
        channel="email", type="incident", priority="urgent", requester_id=client.id,
        responsible_id=staff.id, creator_id=client.id, observers={staff.id, lead.id},
        tags={"hardware", "fire"}, cc=("boss@example.com", "it@example.com"),
        waiting_until=T0 + dt.timedelta(days=2), planned_resolution=T0 + dt.timedelta(days=3),
        time_spent_minutes=42, source_ref="<m1@example.com>",
        first_response_at=T0 + dt.timedelta(minutes=5), sla_policy="gold",
        first_response_due=T0 + dt.timedelta(hours=1), resolution_due=T0 + dt.timedelta(hours=8),
    )


async def open_ticket(engine: AsyncEngine, requester: Person, subject: str = "Help",
                      attachments: tuple[Attachment, ...] = ()) -> int:
    bus = MessageBus(uows(engine), Clock(), EngineSettings())
    outcome = await bus.handle(OpenTicket(actor=requester.id, channel="email", subject=subject,
                                          description=f"{subject}, please",
                                          attachments=attachments))
    assert outcome.ticket is not None
    return outcome.ticket


def item(key: str, channel: str = "email", not_before: dt.datetime | None = None,
         ticket: int | None = None) -> OutboxItem:
    return OutboxItem(key=key, channel=channel, recipient="ann@example.com", kind=NoticeKind.ACK,
                      ticket=ticket, payload={"subject": "Ваша заявка", "n": 1},
                      not_before=not_before)


# ---------------------------------------------------------------- tickets

async def test_ticket_round_trip_keeps_every_field(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann", emails=("ann@example.com",))
    staff = await person(engine, "Sam", Role.SPECIALIST)
    lead = await person(engine, "Lea", Role.LEAD)
    async with uows(engine)() as uow:
        ticket = full_ticket(await uow.tickets.next_number(), client, staff, lead)
        await uow.tickets.add(ticket)
        await uow.commit()
    async with uows(engine)() as uow:
        got = await uow.tickets.get(ticket.number)
    assert got == ticket
    assert got.created_at.tzinfo == dt.UTC and got.created_at.microsecond == 123456
    assert got.waiting_until is not None and got.waiting_until.tzinfo == dt.UTC


async def test_ticket_save_updates_sets_and_fields(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann")
    staff = await person(engine, "Sam", Role.SPECIALIST)
    lead = await person(engine, "Lea", Role.LEAD)
    async with uows(engine)() as uow:
        ticket = full_ticket(await uow.tickets.next_number(), client, staff, lead)
        await uow.tickets.add(ticket)
        await uow.commit()
    async with uows(engine)() as uow:
        loaded = await uow.tickets.get(ticket.number)
        assert loaded is not None
        loaded.observers = {client.id, lead.id}
        loaded.tags = {"fire", "urgent"}
        loaded.status, loaded.waiting_until = Status.OPEN, None
        await uow.tickets.save(loaded)
        await uow.commit()
    async with uows(engine)() as uow:
        assert await uow.tickets.get(ticket.number) == loaded


async def test_ticket_list_and_due_waiting(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann")
    staff = await person(engine, "Sam", Role.SPECIALIST)
    async with uows(engine)() as uow:
        for hours, status in ((1, Status.WAITING), (5, Status.WAITING), (1, Status.OPEN)):
            t = full_ticket(await uow.tickets.next_number(), client, staff, staff)
            t.status, t.waiting_until = status, T0 + dt.timedelta(hours=hours)
            await uow.tickets.add(t)
        await uow.commit()
    async with uows(engine)() as uow:
        assert [t.number for t in await uow.tickets.list()] == [1, 2, 3]
        assert [t.number for t in await uow.tickets.list(Status.WAITING)] == [1, 2]
        assert [t.number for t in await uow.tickets.list(limit=1)] == [1]
        assert await uow.tickets.due_waiting(T0 + dt.timedelta(hours=2)) == [1]
        assert await uow.tickets.get(99) is None


async def test_naive_datetime_is_refused(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann")
    async with uows(engine)() as uow:
        ticket = full_ticket(await uow.tickets.next_number(), client, client, client)
        ticket.created_at = dt.datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.tickets.add(ticket)


# ---------------------------------------------------------------- people

async def test_people_round_trip(engine: AsyncEngine) -> None:
    ann = await person(engine, "Ann", emails=("Ann@Example.COM", "ann@home.example"),
                       telegram_id=7_000_000_001)  # Telegram ids exceed 32 bits
    sam = await person(engine, "Sam", Role.SPECIALIST, emails=("sam@desk.example",))
    lea = await person(engine, "Lea", Role.LEAD)
    assert ann.emails == ("ann@example.com", "ann@home.example")
    async with uows(engine)() as uow:
        assert await uow.people.get(ann.id) == ann
        assert await uow.people.by_email(" ANN@example.com ") == ann
        assert await uow.people.by_email("ann@home.example") == ann
        assert await uow.people.by_telegram(7_000_000_001) == ann
        assert await uow.people.with_role(Role.SPECIALIST, Role.LEAD) == [sam, lea]
        assert await uow.people.by_email("nobody@example.com") is None
        assert await uow.people.get(999) is None
        assert await uow.people.company(1) is None


# ---------------------------------------------------------------- comments, events

async def test_comments_keep_attachments_byte_exact(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann")
    big = random.Random(7).randbytes(1 << 20)
    files = (Attachment("dump.bin", "application/octet-stream", big),
             Attachment("отчёт.txt", "text/plain; charset=utf-8", "строка\r\n\x00".encode()),
             Attachment("empty", "application/octet-stream", b""))
    number = await open_ticket(engine, client, attachments=files[:1])
    async with uows(engine)() as uow:
        note = Comment(ticket=number, author_id=client.id, body="more", public=False,
                       channel="telegram", created_at=T0, source_ref="tg:1:2",
                       attachments=files[1:])
        note_id = await uow.comments.add(note)
        await uow.commit()
    async with uows(engine)() as uow:
        first, second = await uow.comments.for_ticket(number)
    # Reading a ticket gives each file's metadata; its bytes come by id, on demand.
    [dump] = first.attachments
    assert (dump.filename, dump.size, dump.data, dump.has_bytes) == ("dump.bin", len(big),
                                                                      b"", False)
    views = SqlViews(engine)
    assert await views.attachment_bytes(dump.id) == big
    assert [await views.attachment_bytes(a.id) for a in second.attachments] == \
        [f.data for f in files[1:]]
    assert [(a.filename, a.size) for a in second.attachments] == \
        [(f.filename, f.size) for f in files[1:]]
    assert second == replace(note, id=note_id, attachments=second.attachments)
    detail = await ticket_detail(engine, number)
    assert detail is not None
    shown = detail["comments"][0]["attachments"][0]
    assert (shown["size"], shown["sha256"]) == (len(big), hashlib.sha256(big).hexdigest())


async def test_events_round_trip(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann")
    number = await open_ticket(engine, client)
    changed = e.StatusChanged(ticket=number, actor=client.id, at=T0.astimezone(MSK),
                              channel="email", old="open", new="waiting",
                              until=T0 + dt.timedelta(days=1))
    async with uows(engine)() as uow:
        event_id = await uow.events.append(changed)
        await uow.commit()
    async with uows(engine)() as uow:
        opened, stored = await uow.events.for_ticket(number)
    assert opened.kind == "opened" and opened.payload["subject"] == "Help"
    assert stored == StoredEvent(id=event_id, kind="status", ticket=number, actor=client.id,
                                 at=T0, channel="email", payload=changed.payload())


# ---------------------------------------------------------------- outbox, refs, transactions

async def test_outbox_duplicate_key_is_false_and_the_transaction_commits(
        engine: AsyncEngine) -> None:
    async with uows(engine)() as uow:
        assert await uow.outbox.enqueue(item("ev1:ack:1")) is True
        assert await uow.outbox.enqueue(item("ev1:ack:1")) is False
        assert await uow.outbox.enqueue(item("ev1:ack:2")) is True
        await uow.commit()
    async with uows(engine)() as uow:
        assert await uow.outbox.enqueue(item("ev1:ack:2")) is False
        await uow.commit()
    rows = (await export_all(engine))["outbound"]
    assert [r["key"] for r in rows] == ["ev1:ack:1", "ev1:ack:2"]
    assert rows[0]["payload"] == {"subject": "Ваша заявка", "n": 1}
    assert await OutboxStore(engine).pending_count("email") == 2


async def test_refs_find_returns_the_first_known_in_the_given_order(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann")
    one, two = await open_ticket(engine, client), await open_ticket(engine, client)
    async with uows(engine)() as uow:
        await uow.refs.add("<a@x>", one, "in")
        await uow.refs.add("<b@x>", two, "out")
        await uow.refs.add("<a@x>", two, "in")  # a ref keeps its first ticket
        await uow.commit()
    async with uows(engine)() as uow:
        assert await uow.refs.find(["<zz@x>", "<b@x>", "<a@x>"]) == two
        assert await uow.refs.find(["<a@x>", "<b@x>"]) == one
        assert await uow.refs.find(["<zz@x>"]) is None
        assert await uow.refs.find([]) is None
        with pytest.raises(ValueError, match="direction"):
            await uow.refs.add("<c@x>", one, "sideways")


async def test_nothing_is_kept_without_commit(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann")
    async with uows(engine)() as uow:
        number = await uow.tickets.next_number()
        await uow.tickets.add(full_ticket(number, client, client, client))
        await uow.outbox.enqueue(item("lost"))
    with pytest.raises(RuntimeError, match="boom"):
        async with uows(engine)() as uow:
            await uow.outbox.enqueue(item("lost too"))
            raise RuntimeError("boom")
    async with uows(engine)() as uow:
        assert await uow.tickets.get(number) is None
        assert await uow.tickets.next_number() == number  # a rolled-back number was never given
    assert await OutboxStore(engine).pending_count("email") == 0


async def test_concurrent_buses_number_tickets_without_gaps_or_losses(
        engine: AsyncEngine) -> None:
    client = await person(engine, "Ann", emails=("ann@example.com",))
    bus = MessageBus(uows(engine), Clock(), EngineSettings())

    async def worker(w: int) -> list[int | None]:
        numbers = []
        for i in range(25):
            outcome = await bus.handle(OpenTicket(actor=client.id, channel="email",
                                                  subject=f"{w}/{i}", description="x"))
            numbers.append(outcome.ticket)
        return numbers

    results = await asyncio.gather(*(worker(w) for w in range(8)))
    assert sorted(n or 0 for r in results for n in r) == list(range(1, 201))
    stored = await list_tickets(engine)
    assert len({t["subject"] for t in stored}) == 200
    assert [t["number"] for t in stored] == list(range(1, 201))


# ---------------------------------------------------------------- outbox delivery

async def test_outbox_claim_lease_retry_and_give_up(engine: AsyncEngine) -> None:
    store = OutboxStore(engine)
    async with uows(engine)() as uow:
        for key, later in (("a", None), ("b", T0 + dt.timedelta(minutes=10)), ("c", None)):
            await uow.outbox.enqueue(item(key, not_before=later))
        await uow.outbox.enqueue(item("tg", channel="telegram"))
        await uow.commit()
    a, c = await store.claim("email", T0, 10, LEASE)
    assert (a.key, c.key, a.attempts, a.lease_until) == ("a", "c", 1, T0 + LEASE)
    assert await store.claim("email", T0 + LEASE / 2, 10, LEASE) == []  # still leased
    later = T0 + LEASE
    assert [r.key for r in await store.claim("email", later, 1, LEASE)] == ["a"]  # lease over
    await store.mark_failed(a.id, later, "421 try later", next_retry(2, later))
    await store.mark_sent(c.id, later, {"Message-ID": "<c@desk>"})
    assert await store.claim("email", later, 10, LEASE) == []  # c's lease is over, but c is sent
    at_11 = T0 + dt.timedelta(minutes=11)
    a2, b = await store.claim("email", at_11, 10, LEASE)
    assert (a2.key, a2.attempts, a2.last_error, b.key) == ("a", 3, "421 try later", "b")
    await store.mark_failed(b.id, at_11, "550 no such user", None)
    assert await store.claim("email", T0 + dt.timedelta(days=9), 10, LEASE) == [replace(
        a2, lease_until=T0 + dt.timedelta(days=9) + LEASE, attempts=4)]
    gave_up, sent = await store.get(b.id), await store.get(c.id)
    assert gave_up is not None and gave_up.last_error == "550 no such user"
    assert gave_up.failed_at == at_11
    assert sent is not None and (sent.sent_at, sent.meta) == (later, {"Message-ID": "<c@desk>"})
    assert await store.pending_count("email") == 1
    assert await store.pending_count("telegram") == 1


async def test_concurrent_claimers_never_share_a_row(engine: AsyncEngine) -> None:
    async with uows(engine)() as uow:
        for i in range(60):
            await uow.outbox.enqueue(item(f"k{i}"))
        await uow.commit()
    store = OutboxStore(engine)

    async def claimer() -> list[int]:
        taken: list[int] = []
        while rows := await store.claim("email", T0, 4, dt.timedelta(hours=1)):
            taken += [r.id for r in rows]
            await asyncio.sleep(0)
        return taken

    results = await asyncio.gather(*(claimer() for _ in range(6)))
    every = [i for r in results for i in r]
    assert len(every) == len(set(every)) == 60


def test_next_retry_doubles_up_to_an_hour() -> None:
    delays = [next_retry(n, T0) - T0 for n in (0, 1, 2, 3, 7, 8, 500)]
    assert [d.total_seconds() for d in delays] == [30, 30, 60, 120, 1920, 3600, 3600]


# ---------------------------------------------------------------- inbound

async def test_inbound_intake_is_idempotent(engine: AsyncEngine) -> None:
    store = InboundStore(engine)
    raw = b"From: a@x\r\n\r\n\x00\xff body"
    first = await store.store("email", "<m1@x>", raw, T0, mailbox="INBOX", uid=4_000_000_000)
    assert first is not None
    assert await store.store("email", "<m1@x>", raw, T0) is None
    other = await store.store("telegram", "<m1@x>", None, T0.astimezone(MSK))
    assert other is not None and other != first
    (row,) = await store.pending("email", 10)
    assert (row.id, row.raw, row.uid, row.status, row.received_at) == (
        first, raw, 4_000_000_000, "pending", T0)


async def test_inbound_finish_failures_and_quarantine(engine: AsyncEngine) -> None:
    store = InboundStore(engine)
    client = await person(engine, "Ann")
    number = await open_ticket(engine, client)
    ids = [await store.store("email", f"<m{i}@x>", b"x", T0) for i in range(3)]
    done, ignored, bad = (i for i in ids if i is not None)
    await store.finish(done, "done", number, None, "new-ticket")
    await store.finish(ignored, "ignored", None, "auto-reply", "auto-submitted")
    assert [await store.record_failure(bad, "parse error") for _ in range(3)] == [1, 2, 3]
    await store.quarantine(bad, "3 failed attempts")
    assert await store.pending("email", 10) == []
    with pytest.raises(ValueError, match="status"):
        await store.finish(done, "pending", None, None, None)
    rows = {r["external_id"]: r for r in (await export_all(engine))["inbound"]}
    assert (rows["<m0@x>"]["status"], rows["<m0@x>"]["ticket"]) == ("done", number)
    assert (rows["<m1@x>"]["reason"], rows["<m1@x>"]["rule"]) == ("auto-reply", "auto-submitted")
    assert (rows["<m2@x>"]["status"], rows["<m2@x>"]["attempts"]) == ("quarantined", 3)


async def test_mailbox_state_and_suppression(engine: AsyncEngine) -> None:
    store = InboundStore(engine)
    assert await store.mailbox_state("INBOX") is None
    await store.set_mailbox_state("INBOX", 3_000_000_000, 10)
    await store.set_mailbox_state("INBOX", 3_000_000_000, 25)
    assert await store.mailbox_state("INBOX") == MailboxState(3_000_000_000, 25)
    assert not await store.is_suppressed("bob@example.com")
    for reason, at in (("550 unknown user", T0),
                       ("550 still unknown", T0 + dt.timedelta(hours=1))):
        async with uows(engine)() as uow:  # the engine's SuppressAddress writes here
            await uow.suppressions.add("Bob@Example.com", reason, at)
            await uow.commit()
    assert await store.is_suppressed("BOB@example.com")


# ---------------------------------------------------------------- directory, schema, export

async def test_sync_directory_upserts_by_stable_key(engine: AsyncEngine) -> None:
    walk_in = await person(engine, "a@acme.example", emails=("a@acme.example",))
    companies = [CompanySpec("Acme", ("ACME.example", "acme.org"), "boss@acme.example")]
    people = [PersonSpec("Alice", "client", ("A@acme.example",), company="Acme"),
              PersonSpec("Boss", "lead", ("boss@acme.example",), telegram_id=42,
                         username="boss")]
    first = await sync_directory(engine, people, companies)
    people[0] = replace(people[0], name="Alice A.", language="ru")
    again = await sync_directory(engine, people, companies)
    assert (first.people_created, again.people_created, again.people_updated) == (1, 0, 2)
    async with uows(engine)() as uow:
        alice = await uow.people.by_email("a@acme.example")
        boss = await uow.people.by_telegram(42)
        assert alice is not None and boss is not None
        assert (alice.id, alice.name, alice.language) == (walk_in.id, "Alice A.", "ru")
        assert alice.company_id is not None
        company = await uow.people.company(alice.company_id)
    assert company is not None
    assert (company.domains, company.manager_id) == (("acme.example", "acme.org"), boss.id)
    assert len((await export_all(engine))["people"]) == 2


async def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    await upgrade(db_url)
    db = make_engine(db_url)
    try:
        async with uows(db)() as uow:
            assert await uow.tickets.next_number() == 1
            await uow.commit()
        await upgrade(db_url)
        assert await current_revision(db_url) == _head()
        assert await schema_diff(db_url) == []
        async with uows(db)() as uow:
            assert await uow.tickets.next_number() == 2
    finally:
        await db.dispose()


async def test_export_contains_what_was_stored(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann", emails=("ann@example.com",))
    number = await open_ticket(engine, client, "Broken",
                               (Attachment("a.png", "image/png", b"\x89PNG"),))
    await InboundStore(engine).store("email", "<in@x>", b"raw", T0)
    async with uows(engine)() as uow:
        await uow.outbox.enqueue(item("k1", ticket=number))
        await uow.commit()
    store = OutboxStore(engine)
    (row,) = await store.claim("email", T0, 1, LEASE)
    await store.mark_sent(row.id, T0, {"Message-ID": "<k1@desk>", "In-Reply-To": "<in@x>"})
    data = json.loads(json.dumps(await export_all(engine)))
    (ticket,) = data["tickets"]
    assert (ticket["number"], ticket["subject"], ticket["status"]) == (number, "Broken", "open")
    assert ticket["comments"][0]["attachments"][0]["filename"] == "a.png"
    assert ticket["comments"][0]["attachments"][0]["size"] == 4
    assert [ev["kind"] for ev in ticket["events"]] == ["opened"]
    assert data["inbound"][0]["external_id"] == "<in@x>" and data["inbound"][0]["ticket"] is None
    (out,) = data["outbound"]
    assert (out["ticket"], out["sent_at"], out["attempts"]) == (number, T0.isoformat(), 1)
    assert out["meta"]["In-Reply-To"] == "<in@x>"
    assert data["people"][0]["emails"] == ["ann@example.com"]


async def test_list_tickets_filters_by_status(engine: AsyncEngine) -> None:
    client = await person(engine, "Ann")
    await open_ticket(engine, client)
    assert [t["number"] for t in await list_tickets(engine, Status.OPEN)] == [1]
    assert await list_tickets(engine, "closed") == []
    assert await ticket_detail(engine, 2) is None


# ---------------------------------------------------------------- engine setup (SQLite)

async def test_sqlite_engine_setup(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "tb.db"
    db = make_engine(f"sqlite+aiosqlite:///{path}")
    assert path.parent.is_dir() and not path.exists()  # nothing connects until used
    try:
        async with db.connect() as conn:
            pragmas = [(await conn.execute(text(f"PRAGMA {p}"))).scalar()
                       for p in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")]
    finally:
        await db.dispose()
    assert pragmas == ["wal", 1, 5000, 1]


async def test_a_reader_does_not_block_a_writer(engine: AsyncEngine) -> None:
    """Reads (export, counts) open a deferred transaction, not BEGIN IMMEDIATE, on SQLite."""
    async with reading(engine) as conn:
        await conn.execute(text("SELECT count(*) FROM tickets"))
        async with asyncio.timeout(2):  # the busy timeout is 5 s: a blocked writer would wait
            async with uows(engine)() as uow:
                assert await uow.outbox.enqueue(item("during-read"))
                await uow.commit()
    assert await OutboxStore(engine).pending_count("email") == 1


def test_make_engine_logs_no_password(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="ticketbot.store"):
        make_engine("postgresql+asyncpg://desk:s3cr3t@127.0.0.1:1/desk")
    assert "s3cr3t" not in caplog.text and "127.0.0.1" in caplog.text


def _head() -> str | None:
    """The newest migration, whichever helper's it is once they are chained."""
    from alembic.script import ScriptDirectory

    from engine.store.migrate import alembic_config
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
