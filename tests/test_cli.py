"""The `ticketbot` command on a real SQLite file: list, show, export, and clear errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.bootstrap import bootstrap
from bot.cli import main
from config.settings import from_mapping
from engine import commands as c
from engine.model import Attachment, Status

CONFIG = """
[service]
database_url = "sqlite+aiosqlite:///{db}"
language = "{lang}"
timezone = "UTC"

[[people]]
name = "Lena Lead"
role = "lead"
emails = ["lena@desk.test"]

[[people]]
name = "Carl Client"
emails = ["carl@acme.test"]
"""


def _config(tmp_path: Path, lang: str = "en") -> Path:
    path = tmp_path / "ticketbot.toml"
    path.write_text(CONFIG.format(db=tmp_path / "tb.db", lang=lang))
    return path


async def _seed(config: Path) -> None:
    import tomllib

    settings = from_mapping(tomllib.loads(config.read_text()), {})
    rt = await bootstrap(settings)
    lead = await _person_id(rt, "lena@desk.test")
    client = await _person_id(rt, "carl@acme.test")
    photo = Attachment("photo.jpg", "image/jpeg", bytes(range(256)) * 4)
    await rt.bus.handle(c.OpenTicket(actor=client, channel="email", subject="Printer jams",
                                     description="It jams on page 2", attachments=(photo,)))
    await rt.bus.handle(c.Take(actor=lead, channel="cli", ticket=1))
    await rt.bus.handle(c.SetStatus(actor=lead, channel="cli", ticket=1, status=Status.RESOLVED,
                                    text="Replaced the roller"))
    await rt.close()


async def _person_id(rt: object, address: str) -> int:
    from bot.runtime import App

    assert isinstance(rt, App)
    async with rt.uow() as uow:
        person = await uow.people.by_email(address)
    assert person is not None
    return person.id


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    config = _config(tmp_path)
    asyncio.run(_seed(config))
    return config


def test_ticket_list_and_filter(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(seeded), "ticket", "list"]) == 0
    assert "#1" in capsys.readouterr().out
    assert main(["--config", str(seeded), "ticket", "list", "--status", "open"]) == 0
    assert capsys.readouterr().out.strip() == "No tickets."


def test_ticket_show_reads_as_history(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(seeded), "ticket", "show", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "#1 Printer jams  [resolved]"
    history = out.split("History:")[1]
    assert history.index("opened the ticket") < history.index("status: open → in progress")
    assert history.index("in progress → resolved") < history.index("Replaced the roller")
    assert "photo.jpg, 1024 B" in out


def test_ticket_show_in_russian(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "ru")
    asyncio.run(_seed(config))
    assert main(["--config", str(config), "ticket", "show", "1"]) == 0
    assert "История:" in capsys.readouterr().out


def test_export_round_trips(seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    assert main(["--config", str(seeded), "export", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    ticket = data["tickets"][0]
    assert (ticket["number"], ticket["status"], ticket["subject"]) == (1, "resolved",
                                                                        "Printer jams")
    files = [a for cm in ticket["comments"] for a in cm["attachments"]]
    assert [(a["filename"], a["size"]) for a in files] == [("photo.jpg", 1024)]
    assert [e["kind"] for e in ticket["events"]] == ["opened", "responsible", "status",
                                                     "status", "comment"]
    assert {o["kind"] for o in data["outbound"]} >= {"ack", "comment"}
    # The resolution with its answer is one message to the client: the answer, "resolved"
    # under it.
    [answer] = [o for o in data["outbound"] if o["kind"] == "comment"]
    assert [x["new"] for x in answer["payload"]["also"]] == ["resolved"]


def test_unknown_ticket_and_bad_status(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(seeded), "ticket", "show", "999"]) == 1
    assert "no ticket #999" in capsys.readouterr().err
    assert main(["--config", str(seeded), "ticket", "list", "--status", "done"]) == 2
    assert "unknown status 'done'" in capsys.readouterr().err


def test_bad_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[email]\nlisten_port = "x"\n')
    assert main(["--config", str(bad), "ticket", "list"]) == 2
    assert "email.listen_port: expected a whole number" in capsys.readouterr().err



async def test_start_logs_the_database_without_its_password(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(password="hunter2")  # trust auth accepts it; the log must not show it
    settings = from_mapping({}, {"TICKETBOT_DATABASE_URL": url.render_as_string(False),
                                 "TICKETBOT_SECRET": "test"})
    with caplog.at_level(logging.INFO, logger="ticketbot.app"):
        rt = await bootstrap(settings)
        await rt.close()
    assert "database " + url.get_backend_name() in caplog.text
    assert "hunter2" not in caplog.text


def test_export_shows_queued_mail_with_the_headers_it_will_be_sent_with(
        seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    assert main(["--config", str(seeded), "export", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["outbound"]
    ack = next(r for r in rows if r["kind"] == "ack")
    assert ack["sent_at"] is None  # no relay configured: still queued
    headers = ack["headers_to_send"]
    assert headers["to"] == "carl@acme.test"
    assert headers["subject"].startswith("[#1] ")
    assert headers["message-id"].endswith("@localhost>") and headers["auto-submitted"]
    assert all("headers_to_send" not in r for r in rows if r["channel"] != "email")
