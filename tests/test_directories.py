"""F11 directories on SQLite and PostgreSQL: the CSV import (bad rows refused with their
line and reason, the others kept, a second run changes nothing), the CLI's add, show,
export and `ticket list` filters, a ticket's links recorded in its history, and the config
declaring directories."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.directory_cli import read_csv
from bot.runtime import App
from config.reader import ConfigError
from config.settings import from_mapping, with_desks
from engine import commands as c
from engine import errors
from engine.events import DirectoryImported
from engine.store.queries import export_all, ticket_detail
from engine.ticket_types import TicketType, missing
from tests.fakes import FixedClock
from tests.support_email import make_runtime, person_id, settings_for

COMPANIES = """name,domains,manager
Globex,globex.example,lena@staff.example.com
Initech,initech.example;initech.test,
"""
CONTACTS = """name,emails,company,telegram_id,phone,language,manager
Gina Globex,gina@globex.example,Globex,,+7 495 123-45-67,ru,sam@staff.example.com
Bad Company,bob@nowhere.example,Nowhere,,,,
"Ivan
Two Lines",ivan@initech.example ivan@initech.test,Initech,,,,
No Key,,Globex,,,,
Lena Again,lena@staff.example.com,,,,,
Gina Again,GINA@globex.example,Globex,,,,
Bad Manager,m@globex.example,Globex,,,,carl@acme.example
Bad Phone,p@globex.example,Globex,,call me,,
"""
CONTRACTS = """number;company;starts;ends;sla_policy;manager
G-1;Globex;2026-01-01;2026-12-31;;lena@staff.example.com
G-2;Globex;2026-13-01;;;
G-3;Globex;2026-05-01;2026-04-01;;
I-1;Initech;;;;
"""
OBJECTS = """name,company,address,manager
HQ,Globex,1 Main St,olga@staff.example.com
HQ,Initech,2 Side St,
Depot,Nowhere,,
"""
EQUIPMENT = """serial,model,company,object,manager
SN-100,LaserJet,Globex,HQ,
SN-200,Router,Initech,HQ,
SN-300,Router,Globex,Basement,
"""


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_url), FixedClock())
    yield rt
    await rt.close()


async def load(rt: App, kind: str, text: str, actor: int | None = None) -> DirectoryImported:
    _, rows = read_csv(text)
    outcome = await rt.bus.handle(c.ImportDirectory(
        actor=actor, channel="cli", kind=kind,
        rows=tuple(c.DirectoryRow(line, tuple(v.items())) for line, v in rows)))
    (event,) = outcome.desk_events
    assert isinstance(event, DirectoryImported)
    return event


async def seeded(rt: App) -> None:
    for kind, text in (("companies", COMPANIES), ("contacts", CONTACTS),
                       ("contracts", CONTRACTS), ("objects", OBJECTS),
                       ("equipment", EQUIPMENT)):
        await load(rt, kind, text)


async def test_a_csv_import_keeps_good_rows_and_says_why_each_bad_one_is_refused(
        app: App) -> None:
    companies = await load(app, "companies", COMPANIES)
    assert (companies.added, companies.updated, companies.refused) == (2, 0, ())
    contacts = await load(app, "contacts", CONTACTS)
    assert (contacts.added, contacts.updated, contacts.unchanged) == (2, 0, 0)
    # Lines as a person counts them in the file: the quoted name spans lines 4 and 5.
    assert contacts.refused == (
        (3, "dir.refused.unknown_company", "Nowhere"), (6, "dir.refused.no_key", ""),
        (7, "dir.refused.staff", "Lena Again"), (8, "dir.refused.repeated", "2"),
        (9, "dir.refused.not_staff", "carl@acme.example"),
        (10, "dir.refused.bad_phone", "call me"))
    contracts = await load(app, "contracts", CONTRACTS)
    assert contracts.added == 2 and [r[:2] for r in contracts.refused] == [
        (3, "dir.refused.bad_date"), (4, "dir.refused.ends_before_start")]
    objects = await load(app, "objects", OBJECTS)
    assert objects.added == 2 and objects.refused == ((4, "dir.refused.unknown_company",
                                                       "Nowhere"),)
    gear = await load(app, "equipment", EQUIPMENT)
    assert gear.added == 2 and gear.refused == ((4, "dir.refused.unknown_object", "Basement"),)
    data = await export_all(app.db)
    assert [(x["number"], x["company_id"]) for x in data["contracts"]] == [("G-1", 2),
                                                                         ("I-1", 3)]
    assert len(data["objects"]) == 2 and len(data["equipment"]) == 2
    kinds = [e["kind"] for e in data["desk_events"]]
    assert kinds.count("directory_imported") == 5
    ivan = next(p for p in data["people"] if p["name"] == "Ivan Two Lines")
    assert ivan["role"] == "client"


async def test_importing_again_changes_nothing_and_an_edit_updates_in_place(app: App) -> None:
    await seeded(app)
    again = await load(app, "contacts", CONTACTS)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    moved = await load(app, "contacts", "name,emails,company,phone\n"
                                        "Gina G.,gina@globex.example,Initech,+7 495 000\n")
    assert (moved.added, moved.updated) == (0, 1)
    assert moved.ids == again.ids[:1]
    async with app.views.reading() as r:
        (card,) = await r.directory.cards("contacts", moved.ids)
    assert (card.title, card.company) == ("Gina G.", "Initech")
    assert ("phone", "+7 495 000") in card.facts
    # Columns the file does not have stay as they were.
    assert card.manager == "Sam Spec" and ("language", "ru") in card.facts


async def test_a_contact_is_the_client_person_whoever_made_it_first(app: App) -> None:
    """The config's client and a sender the mail intake registered are updated in place,
    never doubled; a row without a company joins the company of its mail domain."""
    await load(app, "companies", COMPANIES)
    outcome = await app.bus.handle(c.RegisterContact(actor=None, channel="email",
                                                     name="dana", address="dana@globex.example"))
    dana, carl = outcome.contact, await person_id(app, "carl@acme.example")
    report = await load(app, "contacts", "name,emails,phone,telegram_id\n"
                                         "Dana Globex,dana@globex.example,+1 555 7,\n"
                                         "Carl Client,carl@acme.example c@acme.example,,4242\n"
                                         "Nora New,nora@initech.test,,\n")
    assert (report.added, report.updated) == (1, 2)
    assert report.ids[:2] == (dana, carl)
    async with app.views.reading() as r:
        cards = await r.directory.cards("contacts", report.ids)
    assert [(x.title, x.company, dict(x.facts).get("emails")) for x in cards] == [
        ("Carl Client", "Acme", "carl@acme.example c@acme.example"),
        ("Dana Globex", "Globex", "dana@globex.example"),
        ("Nora New", "Initech", "nora@initech.test")]
    assert len((await export_all(app.db))["people"]) == 6  # four configured, Dana, Nora


async def test_a_client_may_not_import(app: App) -> None:
    carl = await person_id(app, "carl@acme.example")
    with pytest.raises(errors.NotAllowed) as refused:
        await load(app, "companies", COMPANIES, actor=carl)
    assert refused.value.action == "directory"
    assert not [e for e in (await export_all(app.db))["desk_events"]
                if e["kind"] == "directory_imported"]


async def _ticket(rt: App) -> int:
    carl = await person_id(rt, "carl@acme.example")
    outcome = await rt.bus.handle(c.OpenTicket(actor=carl, channel="email", subject="Jam",
                                               description="It jams"))
    assert outcome.ticket is not None
    return outcome.ticket


async def test_links_are_checked_against_the_company_and_recorded(app: App) -> None:
    await seeded(app)
    number = await _ticket(app)  # Carl is of Acme
    lena = await person_id(app, "lena@staff.example.com")
    with pytest.raises(errors.EntryOfAnotherCompany):
        await app.bus.handle(c.LinkTicket(actor=lena, channel="telegram", ticket=number,
                                          kind="contract", ref="G-1"))
    with pytest.raises(errors.EntryNotFound):
        await app.bus.handle(c.SetCompany(actor=lena, channel="telegram", ticket=number,
                                          ref="Umbrella"))
    await app.bus.handle(c.SetCompany(actor=lena, channel="telegram", ticket=number,
                                      ref="globex"))
    await app.bus.handle(c.LinkTicket(actor=lena, channel="telegram", ticket=number,
                                      kind="contract", ref="g-1"))
    await app.bus.handle(c.LinkTicket(actor=lena, channel="telegram", ticket=number,
                                      kind="equipment", ref="SN-100"))
    gina = await person_id(app, "gina@globex.example")
    await app.bus.handle(c.SetRequester(actor=lena, channel="email", ticket=number,
                                        person_id=gina))
    ticket = await app.views.ticket(number)
    assert ticket is not None
    assert (ticket.contract_id, ticket.equipment_id, ticket.requester_id) == (1, 1, gina)
    # Moving the ticket to another company unlinks what belonged to the old one.
    await app.bus.handle(c.SetCompany(actor=lena, channel="telegram", ticket=number,
                                      ref="Initech"))
    ticket = await app.views.ticket(number)
    assert ticket is not None and (ticket.contract_id, ticket.equipment_id) == (None, None)
    detail = await ticket_detail(app.db, number)
    assert detail is not None
    trail = [(e["payload"]["field"], e["payload"]["old"], e["payload"]["new"], e["actor"])
             for e in detail["events"] if e["kind"] == "directory_link"]
    acme, globex, initech = 1, 2, 3
    assert trail == [("company", acme, globex, lena), ("contract", None, 1, lena),
                     ("equipment", None, 1, lena), ("requester", trail[3][1], gina, lena),
                     ("contract", 1, None, lena), ("equipment", 1, None, lena),
                     ("company", globex, initech, lena)]


async def test_a_client_may_not_change_links(app: App) -> None:
    await seeded(app)
    number = await _ticket(app)
    carl = await person_id(app, "carl@acme.example")
    with pytest.raises(errors.NotAllowed) as refused:
        await app.bus.handle(c.SetCompany(actor=carl, channel="email", ticket=number,
                                          ref="Globex"))
    assert (refused.value.action, refused.value.number) == ("link", number)
    ticket = await app.views.ticket(number)
    assert ticket is not None and ticket.company_id == 1


# --- the CLI ----------------------------------------------------------------------------------


def _config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "ticketbot.toml"
    path.write_text(f"""
[service]
database_url = "{db_url}"
timezone = "UTC"
[email.smtp_intake]
enabled = false
[[people]]
name = "Lena Lead"
role = "lead"
emails = ["lena@staff.example.com"]
[[people]]
name = "Sam Spec"
role = "specialist"
emails = ["sam@staff.example.com"]
[[people]]
name = "Carl Client"
emails = ["carl@acme.example"]
company = "Acme"
[[companies]]
name = "Acme"
domains = ["acme.example"]
""")
    return path


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_cli_import_export_add_show_and_ticket_filters(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(_config(tmp_path, db_url))
    (tmp_path / "companies.csv").write_text(COMPANIES, encoding="utf-8")
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    assert await cli("--config", config, "directory", "import", "companies",
                     str(tmp_path / "companies.csv")) == 0
    assert await cli("--config", config, "directory", "import", "contacts",
                     str(tmp_path / "contacts.csv")) == 1  # some rows refused
    out = capsys.readouterr().out
    assert "contacts: 2 added, 0 updated, 0 unchanged, 6 refused" in out
    assert "line 3: no company named “Nowhere”" in out
    assert "line 8: the same entry as line 2" in out
    assert await cli("--config", config, "contract", "add", "--number", "A-7",
                     "--company", "Acme", "--starts", "2026-02-01") == 0
    assert await cli("--config", config, "contract", "add", "--number", "A-7",
                     "--sla-policy", "high") == 0
    assert "1 updated" in capsys.readouterr().out
    assert await cli("--config", config, "contract", "show", "a-7") == 0
    card = capsys.readouterr().out
    assert "Contract A-7" in card and "from: 2026-02-01" in card and "SLA policy: high" in card
    assert await cli("--config", config, "directory", "export", "contracts", "-") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows == [{"number": "A-7", "company": "Acme", "starts": "2026-02-01", "ends": "",
                     "sla_policy": "high", "manager": ""}]
    assert await cli("--config", config, "object", "add", "--name", "Plant", "--company",
                     "Acme", "--address", "Ring road 5") == 0
    assert await cli("--config", config, "equipment", "add", "--serial", "SN-9", "--company",
                     "Acme", "--object", "Plant", "--model", "Router") == 0
    assert await cli("--config", config, "contact", "add", "--emails",
                     "gina@globex.example", "--phone", "+1 555 0100") == 0
    capsys.readouterr()
    assert await cli("--config", config, "equipment", "list") == 0
    assert capsys.readouterr().out == "SN-9 · Router · Acme · Plant\n"
    assert await cli("--config", config, "company", "list") == 0
    assert capsys.readouterr().out.splitlines() == [
        "Acme · acme.example", "Globex · globex.example · lena@staff.example.com",
        "Initech · initech.example initech.test"]
    assert await cli("--config", config, "contact", "show", "555 0100") == 0
    assert capsys.readouterr().out.startswith(
        "Contact Gina Globex (#4)\ncompany: Globex\nmail: gina@globex.example\n"
        "phone: +1 555 0100\nlanguage: ru\nmanager: Sam Spec")
    # What export writes, import reads back unchanged.
    assert await cli("--config", config, "directory", "export", "contacts",
                     str(tmp_path / "out.csv")) == 0
    assert await cli("--config", config, "directory", "import", "contacts",
                     str(tmp_path / "out.csv")) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        f"{tmp_path / 'out.csv'}: contacts: 0 added, 0 updated, 3 unchanged, 0 refused"
    # A file with a misspelt column changes nothing.
    (tmp_path / "bad.csv").write_text("name,domain\nX,x.example\n", encoding="utf-8")
    assert await cli("--config", config, "directory", "import", "companies",
                     str(tmp_path / "bad.csv")) == 2
    assert "unknown column 'domain'" in capsys.readouterr().err

    await _tickets_for_filters(config, tmp_path)
    capsys.readouterr()
    assert await cli("--config", config, "ticket", "list", "--company", "Globex",
                     "--json") == 0
    assert _numbers(capsys.readouterr().out) == [2, 3]
    assert await cli("--config", config, "ticket", "list", "--company", "Globex",
                     "--contact", "gina@globex.example", "--json") == 0
    assert _numbers(capsys.readouterr().out) == [2]
    assert await cli("--config", config, "ticket", "list", "--contract", "A-7",
                     "--json") == 0
    assert _numbers(capsys.readouterr().out) == [1]
    assert await cli("--config", config, "ticket", "list", "--responsible", "sam",
                     "--json") == 0
    assert _numbers(capsys.readouterr().out) == [3]
    assert await cli("--config", config, "ticket", "show", "1") == 0
    assert "company #1 · contract #1\n" in capsys.readouterr().out
    assert await cli("--config", config, "ticket", "list", "--company", "Umbrella") == 2
    assert "--company 'Umbrella': nothing matches" in capsys.readouterr().err


def _numbers(out: str) -> list[int]:
    import json

    return [row["number"] for row in json.loads(out)]


async def _tickets_for_filters(config: str, tmp_path: Path) -> None:
    """#1 Carl's (Acme, contract A-7), #2 Gina's (Globex), #3 Globex's, Sam's."""
    import tomllib

    from bot.bootstrap import bootstrap

    settings = from_mapping(tomllib.loads(Path(config).read_text()), {})
    rt = await bootstrap(settings)
    try:
        carl = await person_id(rt, "carl@acme.example")
        gina = await person_id(rt, "gina@globex.example")
        sam = await person_id(rt, "sam@staff.example.com")
        for who in (carl, gina, carl):
            await rt.bus.handle(c.OpenTicket(actor=who, channel="email", subject="s",
                                             description="d"))
        await rt.bus.handle(c.LinkTicket(actor=None, channel="cli", ticket=1, kind="contract",
                                         ref="A-7"))
        await rt.bus.handle(c.SetCompany(actor=None, channel="cli", ticket=3, ref="Globex"))
        await rt.bus.handle(c.Assign(actor=None, channel="cli", ticket=3, person_id=sam))
    finally:
        await rt.close()


# --- the config -------------------------------------------------------------------------------


def _declared(**more: Any) -> dict[str, Any]:
    return {"people": [{"name": "Lena", "role": "lead", "emails": ["lena@x.example"]},
                       {"name": "Carl", "emails": ["carl@acme.example"], "phone": "+1 555",
                        "manager": "lena@x.example"}],
            "companies": [{"name": "Acme", "domains": ["acme.example"]}],
            "objects": [{"name": "HQ", "company": "Acme", "address": "1 Main St"}],
            "equipment": [{"serial": "SN-1", "company": "Acme", "object": "HQ"}],
            "contracts": [{"number": "C-1", "company": "Acme", "sla_policy": "standard",
                           "manager": "lena@x.example"}], **more}


async def test_the_config_declares_directories_and_a_restart_keeps_them(db_url: str) -> None:
    settings = from_mapping({**_declared(), "service": {"database_url": db_url}}, {})
    for _ in range(2):  # the second start finds them and changes nothing
        rt = await make_runtime(settings, FixedClock())
        async with rt.views.reading() as r:
            (gear,) = await r.directory.cards("equipment", await r.directory.resolve(
                "equipment", "sn-1"))
            carl = await r.directory.cards("contacts", await r.directory.resolve(
                "contacts", "carl@acme.example"))
            contract = await r.directory.resolve("contracts", "C-1")
            manager = await r.directory.manager_of("contracts", contract[0])
        await rt.close()
        assert (gear.company, dict(gear.facts)["object"]) == ("Acme", "HQ")
        assert carl[0].manager == "Lena" and ("phone", "+1 555") in carl[0].facts
        assert manager is not None


@pytest.mark.parametrize(("more", "error"), [
    ({"objects": [{"name": "HQ", "company": "Umbrella"}]},
     "objects[0].company: no company named 'Umbrella'"),
    ({"equipment": [{"serial": "SN-1", "company": "Acme", "object": "Basement"}]},
     "equipment[0].object: Acme has no object named 'Basement'"),
    ({"contracts": [{"number": "C-1", "company": "Acme", "manager": "carl@acme.example"}]},
     "contracts[0].manager: no declared staff member has the address 'carl@acme.example'"),
    ({"contracts": [{"number": "C-1", "company": "Acme", "starts": "soon"}]},
     "contracts[0].starts: expected a date"),
])
def test_config_errors_name_the_entry(more: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as found:
        from_mapping(_declared(**more), {})
    assert error in str(found.value)


async def test_the_engine_refuses_a_client_the_directory_in_their_language(app: App) -> None:
    """Channels ask early (`staff_only`); the engine's rule holds whatever calls it."""
    from dataclasses import replace

    from bot.commands.registry import Query
    from bot.directory_text import directory_answer

    await seeded(app)
    async with app.views.reading() as r:
        carl = await r.people.by_email("carl@acme.example")
        lena = await r.people.by_email("lena@staff.example.com")
    assert carl is not None and lena is not None
    query = Query("company", None, ("Globex",))
    assert await directory_answer(app.views, replace(carl, language="ru"), query, "ru", "#") \
        == "Извините, вашей роли это недоступно: просмотр справочников."
    assert (await directory_answer(app.views, lena, query, "en", "#")).startswith(
        "Company Globex (#2)")


async def test_a_routing_rule_gives_the_ticket_to_the_contacts_manager(db_url: str) -> None:
    """F12 over F11: "manager of contact" reads the manager the directory keeps for the
    requester (Gina's is Sam), so her ticket is Sam's from the start."""
    settings = with_desks(settings_for(db_url), {"routing": {"rules": [
        {"name": "by-contact", "when": {"subject": ["jam"]},
         "then": {"responsible": "manager of contact"}}]}})
    rt = await make_runtime(settings, FixedClock())
    try:
        await load(rt, "companies", COMPANIES)
        await load(rt, "contacts", CONTACTS)
        gina = await person_id(rt, "gina@globex.example")
        outcome = await rt.bus.handle(c.OpenTicket(actor=gina, channel="email",
                                                   subject="Jam", description="It jams"))
        assert outcome.ticket is not None
        detail = await ticket_detail(rt.db, outcome.ticket)
        assert detail is not None
        assert detail["responsible_id"] == await person_id(rt, "sam@staff.example.com")
        assert detail["events"][-1]["payload"]["rule"] == "by-contact"
    finally:
        await rt.close()


async def test_a_type_that_requires_equipment_asks_until_it_is_linked(db_url: str) -> None:
    """Seed 003: a type may require an equipment link; the link of F11 satisfies it."""
    kind = TicketType("repair", required=("equipment",))
    rt = await make_runtime(settings_for(db_url), FixedClock())
    try:
        await seeded(rt)
        gina = await person_id(rt, "gina@globex.example")
        opened = await rt.bus.handle(c.OpenTicket(actor=gina, channel="email", subject="Jam",
                                                  description="It jams"))
        assert opened.ticket is not None
        ticket = await rt.views.ticket(opened.ticket)
        assert ticket is not None and missing(ticket, kind) == ("equipment",)
        lead = await person_id(rt, "lena@staff.example.com")
        await rt.bus.handle(c.LinkTicket(actor=lead, channel="cli", ticket=opened.ticket,
                                         kind="equipment", ref="SN-100"))
        linked = await rt.views.ticket(opened.ticket)
        assert linked is not None and missing(linked, kind) == ()
    finally:
        await rt.close()
