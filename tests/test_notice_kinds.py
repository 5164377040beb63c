"""Every outbox kind, through the real renderers, in both languages: a client never reads a
staff-only field, and no kind is left without a rendering or a text in either language."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.email.deliver.render import Rendered, Renderer
from bot.channels.telegram.deliver.cards import card_facts, render_card
from bot.channels.telegram.deliver.notices import render_notice
from bot.channels.telegram.read import view
from config.settings import Settings
from engine import events as e
from engine.directory import CompanySpec, PersonSpec
from engine.model import Comment, Person, Role, Status, Ticket
from engine.notify.kinds import NoticeKind, Place, Reader, UnknownNoticeKind, notice_kind
from engine.notify.rules import Audience, plan
from engine.outbox import OutboxRow
from engine.store.db import make_engine
from engine.store.migrate import upgrade
from engine.store.seed import sync_directory
from engine.store.uow import sql_uow_factory
from engine.store.views import SqlViews
from tests.fakes import FixedClock

LANGS = ("en", "ru")
UTC = dt.UTC
AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TELEGRAM = frozenset({Place.PRIVATE, Place.GROUP, Place.STAFF_CHAT, Place.CARD})
# Rows the Telegram delivery sends through handlers of its own, not `render_notice`.
CHAT_OWN = frozenset({NoticeKind.REPLY, NoticeKind.EDIT, NoticeKind.CARD, NoticeKind.POST,
                      NoticeKind.FILE})

MANAGER = PersonSpec("Margarethe Quillfeather", "lead", ("quill@staff.example.com",))
SAM = PersonSpec("Sam Spec", "specialist", ("sam@staff.example.com",))
CARL = PersonSpec("Carl Client", "client", ("carl@acme.example",), company="Acme")
ACME = CompanySpec("Acme", ("acme.example",), manager_email="quill@staff.example.com")

# The staff-only facts of the ticket, each in every form a renderer could print it.
PLANNED = dt.datetime(2031, 7, 19, 10, 47, tzinfo=UTC)
NOTE = "kiwi-flavoured internal remark"
STAFF_ONLY = ("2031", ":47", "4321", "72", "Quillfeather", "kiwi")
# The SLA deadlines: the status card shows them in the group by design (cards.py), every
# notice keeps them to staff.
SLA_DUE = ("2032", ":53", "2033", ":59")


@dataclass(frozen=True)
class Desk:
    db: AsyncEngine
    settings: Settings
    client: Person
    staff: Person
    number: int
    public_comment: int


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kinds.db'}"
    settings = Settings(database_url=url, people=(MANAGER, SAM, CARL), companies=(ACME,))
    await upgrade(url)
    db = make_engine(url)
    await sync_directory(db, settings.people, settings.companies)
    async with sql_uow_factory(db, FixedClock())() as uow:
        client = await uow.people.by_email("carl@acme.example")
        staff = await uow.people.by_email("sam@staff.example.com")
        assert client is not None and staff is not None and client.company_id is not None
        company = await uow.people.company(client.company_id)
        assert company is not None and company.manager_id is not None  # the manager is set
        number = await uow.tickets.next_number()
        await uow.tickets.add(_ticket(number, client, staff))
        await uow.comments.add(Comment(number, client.id, "The printer jams.", True, "email", AT))
        answer = await uow.comments.add(Comment(number, staff.id, "Try the rear tray.", True,
                                                "email", AT))
        await uow.comments.add(Comment(number, staff.id, NOTE, False, "telegram", AT))
        await uow.commit()
    yield Desk(db, settings, client, staff, number, answer)
    await db.dispose()


def _ticket(number: int, client: Person, staff: Person) -> Ticket:
    return Ticket(
        number=number, subject="Printer jams", description="The printer jams.",
        status=Status.IN_PROGRESS, created_at=AT, updated_at=AT, channel="email",
        requester_id=client.id, company_id=client.company_id, responsible_id=staff.id,
        planned_resolution=PLANNED, time_spent_minutes=4321, sla_policy="standard",
        first_response_at=AT,
        first_response_due=dt.datetime(2032, 1, 2, 3, 53, tzinfo=UTC),
        resolution_due=dt.datetime(2033, 4, 5, 6, 59, tzinfo=UTC),
        next_response_due=dt.datetime(2032, 6, 7, 8, 53, tzinfo=UTC))


def _row(desk: Desk, kind: NoticeKind, lang: str, reader: Person, channel: str) -> OutboxRow:
    return OutboxRow(
        id=1, key=f"{kind}:{lang}", channel=channel, recipient="r", kind=kind,
        ticket=desk.number, person_id=reader.id, language=lang,
        payload=_payload(desk, kind), created_at=AT, not_before=None, next_try=None,
        attempts=1, last_error=None, lease_until=None, sent_at=None, failed_at=None, meta=None)


def _payload(desk: Desk, kind: NoticeKind) -> dict[str, Any]:
    """What each kind's producer puts in the row (no finished text unless prerendered)."""
    base: dict[str, Any] = {"event_id": 1, "actor": desk.staff.id}
    match kind:
        case NoticeKind.COMMENT | NoticeKind.NOTE:
            return {**base, "comment_id": desk.public_comment, "public": True}
        case NoticeKind.STATUS:
            return {**base, "old": "open", "new": "in_progress"}
        case NoticeKind.MERGED:
            return {**base, "source": desk.number, "target": desk.number + 1}
        case NoticeKind.RESPONSIBLE | NoticeKind.ASSIGNED | NoticeKind.UNASSIGNED:
            return {**base, "old": None, "new": desk.staff.id}
        case NoticeKind.RATING_REQUEST:
            return {"ticket": desk.number, "subject": "Printer jams", "scale": 5,
                    "links": [{"score": 5, "href": "mailto:support@help.example.com"}],
                    "choices": [{"score": 5, "token": "t5"}]}
        case NoticeKind.SLA_WARNING | NoticeKind.SLA_BREACH:
            return {"number": desk.number, "subject": "Printer jams", "target": "Resolution",
                    "due": "2026-11-24 18:00", "time": "2 h", "responsible": "Sam Spec"}
        case NoticeKind.DELIVERY_FAILED:
            return {"outbox_id": 7, "what": "ack", "recipient": "carl@acme.example",
                    "channel": "email", "reason": "550 mailbox closed", "number": desk.number}
        case _ if kind.prerendered:
            return {"text": f"ready-made {kind}", "html": f"<b>ready-made {kind}</b>",
                    "subject": "Printer jams"}
        case _:
            return base


async def _mail(desk: Desk, row: OutboxRow) -> str | None:
    async with SqlViews(desk.db).reading() as reading:
        out = await Renderer(desk.settings).render(row, reading)
    return f"{out.subject}\n{out.text}" if isinstance(out, Rendered) else None


async def _telegram(desk: Desk, row: OutboxRow) -> str | None:
    async with view(SqlViews(desk.db)) as v:
        if row.kind is NoticeKind.CARD:
            facts = await card_facts(v, desk.number)
            assert facts is not None
            return render_card(facts, row.language, desk.settings.timezone)
        notice = await render_notice(row, v)
    return None if notice is None else f"{notice.html}\n{notice.caption or ''}"


def _reader(desk: Desk, kind: NoticeKind) -> Person:
    return desk.client if kind.for_clients else desk.staff


CLIENT_MAIL = [k for k in NoticeKind
               if k.for_clients and not k.prerendered and Place.MAIL in k.places]
CLIENT_PRIVATE = [k for k in NoticeKind if k.for_clients and not k.prerendered
                  and Place.PRIVATE in k.places and k not in CHAT_OWN]


def test_the_client_kinds_are_the_ones_clients_always_got() -> None:
    assert {k.value for k in NoticeKind if k.for_clients and not k.prerendered} == {
        "ack", "created_cc", "status", "comment", "observing", "rating_request", "card",
        "merged"}
    assert set(CLIENT_MAIL) > set(CLIENT_PRIVATE) > {NoticeKind.STATUS}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", CLIENT_MAIL)
async def test_a_client_mail_shows_no_staff_only_field(desk: Desk, kind: NoticeKind,
                                                       lang: str) -> None:
    text = await _mail(desk, _row(desk, kind, lang, desk.client, "email"))
    assert text is not None, kind  # rendered, not skipped: the check below saw a real mail
    assert [s for s in STAFF_ONLY + SLA_DUE if s in text] == [], text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", CLIENT_PRIVATE)
async def test_a_client_telegram_notice_shows_no_staff_only_field(
        desk: Desk, kind: NoticeKind, lang: str) -> None:
    text = await _telegram(desk, _row(desk, kind, lang, desk.client, "telegram"))
    assert text is not None, kind
    assert [s for s in STAFF_ONLY + SLA_DUE if s in text] == [], text


@pytest.mark.parametrize("lang", LANGS)
async def test_the_status_card_in_the_group_shows_no_staff_only_field(desk: Desk,
                                                                      lang: str) -> None:
    card = await _telegram(desk, _row(desk, NoticeKind.CARD, lang, desk.client, "telegram"))
    assert card is not None and "Printer jams" in card
    assert [s for s in STAFF_ONLY if s in card] == [], card


async def test_a_staff_mail_does_carry_the_staff_view(desk: Desk) -> None:
    """The check above can fail: the same ticket mailed to staff names the request."""
    text = await _mail(desk, _row(desk, NoticeKind.ASSIGNED, "en", desk.staff, "email"))
    assert text is not None and "The printer jams." in text


def _renderings(kind: NoticeKind) -> list[str]:
    return (["mail"] if Place.MAIL in kind.places else []) + (
        ["telegram"] if kind.places & TELEGRAM and kind not in CHAT_OWN - {NoticeKind.CARD}
        else [])


@pytest.mark.parametrize("kind", list(NoticeKind))
async def test_every_kind_is_rendered_in_both_languages(desk: Desk, kind: NoticeKind) -> None:
    """Each kind, for a reader allowed to see it, through every renderer of its places; a
    text of its own (not the ticket's subject, not a bare key) differs between en and ru.
    The chat's pre-rendered rows (reply, edit, post) are sent as their producer wrote them."""
    assert kind.readers and kind.places
    if kind in CHAT_OWN - {NoticeKind.CARD}:
        assert kind.prerendered and not kind.places & {Place.MAIL}
        return
    for channel in _renderings(kind):
        render = _mail if channel == "mail" else _telegram
        texts = [await render(desk, _row(desk, kind, lang, _reader(desk, kind), channel))
                 for lang in LANGS]
        assert None not in texts, (kind, channel)
        heads = [_head(str(text), channel) for text in texts]
        assert all("{" not in h and "notify." not in h for h in heads), heads
        if kind.prerendered:
            assert all(f"ready-made {kind}" in h for h in heads), heads
        else:
            assert heads[0] != heads[1], (kind, channel, heads)


def _head(text: str, channel: str) -> str:
    """What the kind itself says: the mail's first body line (the subject and footer are
    the ticket's and the channel's), the whole Telegram message."""
    return text.split("\n")[1] if channel == "mail" else text


def test_readers_and_places_are_what_the_channels_relied_on() -> None:
    """The old string sets, now read off the enum (CLIENT_KINDS, SHOWN_IN_GROUP)."""
    notices = [k for k in NoticeKind if k not in CHAT_OWN]
    assert {k.value for k in notices if k.for_clients} == {
        "ack", "created_cc", "status", "comment", "observing", "rating_request", "mail_reply",
        "merged"}
    assert {k.value for k in notices if k.shown_in_group} == {
        "status", "comment", "ack", "created"}
    assert NoticeKind.CARD.events == {e.TicketOpened.kind, e.StatusChanged.kind,
                                      e.ResponsibleChanged.kind, e.PriorityChanged.kind}
    assert all(Reader.STAFF in k.readers for k in NoticeKind)


def _person(pid: int, role: Role) -> Person:
    return Person(id=pid, name=f"p{pid}", role=role, emails=(f"p{pid}@x.example",))


@pytest.mark.parametrize("event", [
    e.TicketOpened(ticket=1, actor=9, at=AT, channel="email", subject="s", requester_id=1,
                   responsible_id=2),
    e.CommentAdded(ticket=1, actor=9, at=AT, channel="email", comment_id=1, public=True,
                   by_staff=True),
    e.CommentAdded(ticket=1, actor=9, at=AT, channel="email", comment_id=1, public=False,
                   by_staff=True),
    e.StatusChanged(ticket=1, actor=9, at=AT, channel="email", old="open", new="in_progress"),
    e.ResponsibleChanged(ticket=1, actor=9, at=AT, channel="email", old=3, new=2),
    e.ObserverAdded(ticket=1, actor=9, at=AT, channel="email", person_id=4),
], ids=lambda ev: f"{ev.kind}")
def test_each_notice_names_the_event_that_produces_it(event: e.Event) -> None:
    ticket = Ticket(number=1, subject="s", description="d", status=Status.OPEN, created_at=AT,
                    updated_at=AT, channel="email", requester_id=1, responsible_id=2,
                    observers={4}, cc=("cc@x.example",))
    who = Audience(ticket, _person(1, Role.CLIENT), _person(2, Role.SPECIALIST),
                   (_person(4, Role.SPECIALIST),), (_person(5, Role.LEAD),),
                   _person(3, Role.SPECIALIST))
    kinds = {n.kind for n in plan(event, who)}
    assert kinds and all(event.kind in k.events for k in kinds), kinds


def test_a_stored_kind_no_member_names_is_refused() -> None:
    assert notice_kind("status") is NoticeKind.STATUS
    with pytest.raises(UnknownNoticeKind, match="unknown kind something_new"):
        notice_kind("something_new")


@pytest.mark.parametrize(("acknowledge", "expected"), [
    (True, {(NoticeKind.ACK, 1), (NoticeKind.ASSIGNED, 2), (NoticeKind.CREATED, 5),
            (NoticeKind.CREATED, 4), (NoticeKind.CREATED_CC, "cc@x.example")}),
    # A rescued mail: staff hear of it; its sender and the Cc addresses do not.
    (False, {(NoticeKind.ASSIGNED, 2), (NoticeKind.CREATED, 5)}),
])
def test_a_rescued_mail_opens_a_ticket_without_ack_or_copy_notice(
        acknowledge: bool, expected: set[tuple[NoticeKind, object]]) -> None:
    ticket = Ticket(number=1, subject="s", description="d", status=Status.OPEN, created_at=AT,
                    updated_at=AT, channel="email", requester_id=1, responsible_id=2,
                    observers={4}, cc=("cc@x.example",))
    who = Audience(ticket, _person(1, Role.CLIENT), _person(2, Role.SPECIALIST),
                   (_person(4, Role.SPECIALIST),), (_person(5, Role.LEAD),))
    event = e.TicketOpened(ticket=1, actor=9, at=AT, channel="email", subject="s",
                           requester_id=1, responsible_id=2, acknowledge=acknowledge,
                           notify_cc=("cc@x.example",))
    found = {(n.kind, n.person.id if n.person else n.address) for n in plan(event, who)}
    assert found == expected
