"""F13 by mail: the survey goes out with one-click links; a click (a mail whose subject carries
the signed vote) or a bare digit answering the survey records the score once, for the
requester only."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import MailSender
from bot.channels.email.receive import raw
from bot.runtime import App
from engine import commands as c
from engine.model import Status
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import (
    Sink,
    clock,
    db_file,
    mail,
    make_runtime,
    person_id,
    runtime,
    settings_for,
    smtp_sink,
)

__all__ = ["clock", "db_file", "runtime", "smtp_sink"]  # fixtures

CARL = "carl@acme.example"


async def receive(rt: App, data: bytes, clock: FixedClock) -> dict[str, Any]:
    await raw.keep(rt.inbound, data, clock.now())
    await MailIntake(rt).drain()
    row: dict[str, Any] = (await export_all(rt.db))["inbound"][-1]
    return row


async def replies(rt: App) -> list[str]:
    return [o["payload"]["text"] for o in (await export_all(rt.db))["outbound"]
            if o["kind"] == "mail_reply"]


async def surveyed(rt: App, sink: Sink, clock: FixedClock) -> EmailMessage:
    """Carl's ticket, resolved by Lena; the survey mail after the configured delay."""
    await receive(rt, mail(message_id="<r1@acme.example>"), clock)
    lena = await person_id(rt, "lena@staff.example.com")
    await rt.bus.handle(c.SetStatus(actor=lena, channel="email", ticket=1,
                                    status=Status.RESOLVED, text="Replaced the drum."))
    clock.advance(minutes=31)
    sender = MailSender(rt, sink.smtp)
    while await sender.run_once():
        pass
    return await sink.first(lambda m: m["To"] == CARL and "mailto:" in str(m.get_body(("plain",))))


def links(survey: EmailMessage) -> dict[int, tuple[str, str]]:
    """score -> (to, subject) of each mailto link."""
    body = survey.get_body(("plain",))
    assert body is not None
    found = {}
    for line in body.get_content().splitlines():
        if "mailto:" in line:
            url = urlsplit(line[line.index("mailto:"):])
            subject = unquote(url.query.removeprefix("subject="))
            found[int(line.split()[0])] = (url.path, subject)
    return found


async def test_the_survey_mail_offers_one_link_per_score(runtime: App, smtp_sink: Sink,
                                                         clock: FixedClock) -> None:
    survey = await surveyed(runtime, smtp_sink, clock)
    assert survey["To"] == CARL and survey["Subject"].startswith("[#1] ")
    found = links(survey)
    assert sorted(found) == [1, 2, 3, 4, 5]
    assert {to for to, _ in found.values()} == {"support@help.example.com"}


async def test_a_click_records_the_score_once(runtime: App, smtp_sink: Sink,
                                              clock: FixedClock) -> None:
    _, subject = links(await surveyed(runtime, smtp_sink, clock))[4]
    row = await receive(runtime, mail(subject=subject, body=""), clock)
    assert (row["status"], row["rule"], row["reason"], row["ticket"]) == \
        ("done", "rating", "rating 4", 1)
    again = await receive(runtime, mail(subject=subject, body=""), clock)
    assert (again["status"], again["rule"]) == ("ignored", "rating")
    assert await replies(runtime) == ["Thank you! Your rating 4 for ticket #1 is saved.",
                                      "Ticket #1 has already been rated. Thank you!"]


async def test_a_digit_answering_the_survey_is_a_score(runtime: App, smtp_sink: Sink,
                                                       clock: FixedClock) -> None:
    survey = await surveyed(runtime, smtp_sink, clock)
    row = await receive(runtime, mail(subject=f"Re: {survey['Subject']}", body="5\n\n> rate",
                                      in_reply_to=survey["Message-ID"]), clock)
    assert (row["rule"], row["reason"]) == ("rating", "rating 5")


async def test_a_digit_answering_another_mail_is_just_a_comment(runtime: App,
                                                                clock: FixedClock) -> None:
    await receive(runtime, mail(message_id="<d1@acme.example>"), clock)
    row = await receive(runtime, mail(body="5", in_reply_to="<d1@acme.example>"), clock)
    assert (row["status"], row["rule"]) == ("done", "message_id")


async def test_someone_elses_click_is_refused_silently(runtime: App, smtp_sink: Sink,
                                                       clock: FixedClock) -> None:
    _, subject = links(await surveyed(runtime, smtp_sink, clock))[1]
    row = await receive(runtime, mail(sender="dora@acme.example", subject=subject), clock)
    assert (row["status"], row["rule"]) == ("ignored", "rating")
    assert await replies(runtime) == []


async def test_a_digit_answering_the_combined_mail_is_a_score(
        db_file: str, smtp_sink: Sink, clock: FixedClock) -> None:
    """With no delay the survey is in the answer's own mail (engine/notify/combine.py): a
    bare digit answering that mail is the score, as it is for a survey mail of its own."""
    settings = settings_for(db_file)
    settings = replace(settings, sla=replace(settings.sla, ratings=replace(
        settings.sla.ratings, delay_minutes=0)))
    rt = await make_runtime(settings, clock)
    try:
        await receive(rt, mail(message_id="<r1@acme.example>"), clock)
        lena = await person_id(rt, "lena@staff.example.com")
        await rt.bus.handle(c.SetStatus(actor=lena, channel="email", ticket=1,
                                        status=Status.RESOLVED, text="Replaced the drum."))
        clock.advance(minutes=1)
        sender = MailSender(rt, smtp_sink.smtp)
        while await sender.run_once():
            pass
        [_, answer] = [m for m in smtp_sink.messages() if m["To"] == CARL]
        assert "Replaced the drum." in str(answer.get_body(("plain",)))
        assert "mailto:" in str(answer.get_body(("plain",)))
        row = await receive(rt, mail(subject=f"Re: {answer['Subject']}", body="4\n\n> drum",
                                     in_reply_to=answer["Message-ID"]), clock)
        assert (row["rule"], row["reason"]) == ("rating", "rating 4")
    finally:
        await rt.close()
