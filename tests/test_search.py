"""F17 full-text search on SQLite and PostgreSQL: word forms in Russian and English, ranking,
the index kept in step with every comment and subject write, what clients may find, and the
migration indexing tickets that existed before it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from engine import commands as c
from engine import stemming
from engine.bus import MessageBus
from engine.model import Person, Role, Status, Ticket
from engine.ports import NewPerson
from engine.settings import EngineSettings
from engine.stemming import stem, stemmed, words
from engine.store.db import make_engine, reading
from engine.store.migrate import schema_diff, upgrade
from engine.store.search_sql import search, snippet
from engine.store.uow import sql_uow_factory
from tests.fakes import FixedClock
from tests.test_cli import seeded

__all__ = ["seeded"]  # fixture

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("forms", "one"), [
    (("принтер", "принтера", "принтеры", "принтером", "принтерах"), True),
    (("бумага", "бумаги", "бумагу", "бумагой"), True),
    (("застряла", "застрял", "застряли"), True),
    (("printer", "printers", "Printers"), True),
    (("print", "printing", "printed", "prints"), True),
    (("jam", "jams", "jammed", "jamming"), True),
    (("replace", "replaced", "replaces", "replacing"), True),
    (("update", "updated", "updates"), True),
    (("hope", "hoping"), True),
    (("принтер", "printer"), False),
])
def test_word_forms_share_one_stem(forms: tuple[str, ...], one: bool) -> None:
    assert (len({stemmed(f) for f in forms}) == 1) is one


def test_stemmed_text_is_each_words_stem_even_after_the_word_table_is_cleared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path (a table of known words) gives what stemming word by word gives:
    case, ё, underscores, digits, mixed scripts, junk longer than the stem limit."""
    text = ("Принтеры ПРИНТЕРА ёлки printers Printing_queue v2 ab12 smörgåsbord mixedслово "
            + "x" * 90 + " " + "ю" * 60 + " Принтеры")
    expected = " ".join(stem(w) for w in words(text))
    assert stemmed(text) == expected
    monkeypatch.setattr(stemming, "_KNOWN_WORDS", 3)  # cleared again and again mid-text
    stemming._KNOWN.clear()
    assert stemmed(text) == expected
    assert len(stemming._KNOWN) <= 3
    stemming._KNOWN.clear()


def test_snippet_is_cut_around_the_first_matching_word() -> None:
    body = "Hello team. " + "x " * 80 + "The printers on floor 3 jam every morning. " + "y " * 80
    cut = snippet([body], [stem("printer")], width=60)
    assert cut.startswith("…") and cut.endswith("…")
    assert "printers on floor 3" in cut and len(cut) <= 62


async def _people(engine: AsyncEngine) -> tuple[Person, Person, Person]:
    async with sql_uow_factory(engine)() as uow:
        lead = await uow.people.add(NewPerson("Lena", Role.LEAD))
        carl = await uow.people.add(NewPerson("Carl", Role.CLIENT, emails=("carl@x.example",)))
        dora = await uow.people.add(NewPerson("Dora", Role.CLIENT, emails=("dora@y.example",)))
        await uow.commit()
    return lead, carl, dora


async def _find(engine: AsyncEngine, query: str, person: Person | None = None) -> list[int]:
    async with reading(engine) as conn:
        return [h.number for h in await search(conn, query, person)]


async def test_search_finds_word_forms_ranks_subjects_and_follows_writes(
        engine: AsyncEngine) -> None:
    lead, carl, dora = await _people(engine)
    bus = MessageBus(sql_uow_factory(engine), FixedClock(T0), EngineSettings())
    first = (await bus.handle(c.OpenTicket(
        actor=carl.id, channel="email", subject="Принтер не печатает",
        description="Принтер на третьем этаже зажевал бумагу."))).ticket
    second = (await bus.handle(c.OpenTicket(
        actor=dora.id, channel="email", subject="VPN is down",
        description="Since this morning the VPN drops; also the printers jam."))).ticket
    third = (await bus.handle(c.OpenTicket(
        actor=dora.id, channel="email", subject="Printer jams",
        description="The printer jams on page 2."))).ticket
    assert first and second and third
    assert await _find(engine, "принтеры") == [first]
    assert await _find(engine, "принтера бумаги") == [first]
    assert await _find(engine, "printer") == [third, second]  # the subject ranks first
    assert await _find(engine, "jammed printers") == [third, second]
    assert await _find(engine, "nothing-like-this") == []
    # A comment, an edit and a subject change are found at once.
    await bus.handle(c.AddComment(actor=lead.id, channel="telegram", ticket=second,
                                  body="Роутер перезагружен", public=False,
                                  source_ref="tg:1:1"))
    assert await _find(engine, "роутера") == [second]
    await bus.handle(c.EditComment(actor=lead.id, channel="telegram", ticket=second,
                                   body="Коммутатор перезагружен", source_ref="tg:1:1"))
    assert await _find(engine, "роутер") == []
    assert await _find(engine, "коммутатора") == [second]
    # Clients find their own tickets only, and never by an internal note.
    assert await _find(engine, "printer", carl) == []
    assert await _find(engine, "printer", dora) == [third, second]
    assert await _find(engine, "коммутатор", dora) == []
    assert await _find(engine, "коммутатор", lead) == [second]


def _ticket(number: int, subject: str) -> Ticket:
    return Ticket(number=number, subject=subject, description="", status=Status.OPEN,
                  created_at=T0, updated_at=T0, channel="email")


async def test_a_new_tickets_subject_row_is_written_with_or_without_a_comment(
        engine: AsyncEngine) -> None:
    """The store holds a new ticket's subject row back to write it in one statement with
    its first comment's row. Without a comment the commit writes it; a subject changed
    before the commit is indexed once, as changed."""
    uows = sql_uow_factory(engine)
    async with uows() as uow:
        await uow.tickets.add(_ticket(await uow.tickets.next_number(), "Scanner broken"))
        await uow.commit()
    async with uows() as uow:
        ticket = _ticket(await uow.tickets.next_number(), "Monitor flickers")
        await uow.tickets.add(ticket)
        ticket.subject = "Keyboard sticks"
        await uow.tickets.save(ticket)
        await uow.commit()
    async with uows() as uow:  # rolled back: nothing of it is found
        await uow.tickets.add(_ticket(await uow.tickets.next_number(), "Mouse lost"))
    assert (await _find(engine, "scanners"), await _find(engine, "keyboards")) == ([1], [2])
    assert (await _find(engine, "monitor"), await _find(engine, "mouse")) == ([], [])
    async with reading(engine) as conn:
        rows = (await conn.execute(text(
            "SELECT ticket FROM search_docs WHERE comment_id IS NULL ORDER BY ticket"))).all()
    assert [r.ticket for r in rows] == [1, 2]


async def test_hits_carry_subject_status_and_a_snippet(engine: AsyncEngine) -> None:
    _, carl, _ = await _people(engine)
    bus = MessageBus(sql_uow_factory(engine), FixedClock(T0), EngineSettings())
    number = (await bus.handle(c.OpenTicket(
        actor=carl.id, channel="email", subject="Mail",
        description="Outlook asks for the password again and again."))).ticket
    async with reading(engine) as conn:
        [hit] = await search(conn, "passwords", None)
    assert (hit.number, hit.subject, hit.status.value) == (number, "Mail", "open")
    assert "password again" in hit.snippet


async def test_migration_indexes_existing_tickets_and_leaves_no_drift(db_url: str) -> None:
    await upgrade(db_url, "0003")
    db = make_engine(db_url)
    try:
        async with db.begin() as conn:
            await conn.execute(text(
                "INSERT INTO tickets (number, subject, description, status, created_at, "
                "updated_at, channel, type, priority, cc, time_spent_minutes) VALUES (7, "
                "'Сканер сломался', 'x', 'open', :t, :t, 'email', 'question', 'normal', '[]', "
                "0)"), {"t": T0})
            await conn.execute(text(
                "INSERT INTO comments (ticket, body, public, channel, created_at) VALUES "
                "(7, 'Не сканирует документы', true, 'email', :t)"), {"t": T0})
        await upgrade(db_url)
        assert await schema_diff(db_url) == []
        assert await _find(db, "сканера") == [7]
        assert await _find(db, "документов") == [7]
    finally:
        await db.dispose()


def test_ticket_list_search(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(seeded), "ticket", "list", "--search", "rollers replace"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("#1") and "Printer jams" in out
    assert "Replaced the roller" in out
    assert main(["--config", str(seeded), "ticket", "list", "--search", "printers",
                 "--json"]) == 0
    assert [h["number"] for h in json.loads(capsys.readouterr().out)] == [1]
    assert main(["--config", str(seeded), "ticket", "list", "--search", "printers",
                 "--status", "open"]) == 0
    assert capsys.readouterr().out.strip() == "No tickets."
