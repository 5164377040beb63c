"""The escalation ladder as pure decisions: which rung, who hears, and from when."""

from __future__ import annotations

from dataclasses import replace

from bot.i18n import t
from engine.model import Status, Ticket
from engine.sla.escalation import (
    AlertFacts,
    Ladder,
    Rung,
    StaffHours,
    deliveries,
    outbox_items,
    rung,
    warn_cutoff,
)
from engine.sla.policy import Target
from tests.support_sla import BERLIN, LEAD, SPEC, STAFF_CHAT, msk, people, policy

STD = policy(first=60, resolution=540)  # warns at 75 %: 15 and 135 minutes left
PEOPLE = people()
LEADS = [PEOPLE[LEAD]]
HOURS = StaffHours(STD.calendar)
WITH_CHAT = Ladder(HOURS, staff_chat=STAFF_CHAT, staff_language="ru")
NO_CHAT = Ladder(HOURS)


def ticket(responsible: int | None = SPEC) -> Ticket:
    created = msk(2026, 11, 23, 9)
    return Ticket(number=7, subject="Printer", description="", status=Status.OPEN,
                  created_at=created, updated_at=created, channel="email",
                  responsible_id=responsible)


def test_rungs_by_percent_used() -> None:
    due = msk(2026, 11, 23, 10)
    assert rung(STD, Target.FIRST_RESPONSE, due, msk(2026, 11, 23, 9, 44)) is None
    assert rung(STD, Target.FIRST_RESPONSE, due, msk(2026, 11, 23, 9, 45)) is Rung.WARN
    assert rung(STD, Target.FIRST_RESPONSE, due, due) is Rung.BREACH


def test_rungs_by_minutes_left_count_business_minutes_only() -> None:
    quick = policy(warn_minutes=30)
    due = msk(2026, 11, 23, 9, 20)  # Monday morning
    # Friday 17:50: 30 business minutes left (10 on Friday, 20 on Monday) despite the weekend.
    assert rung(quick, Target.RESOLUTION, due, msk(2026, 11, 20, 17, 49)) is None
    assert rung(quick, Target.RESOLUTION, due, msk(2026, 11, 20, 17, 50)) is Rung.WARN


def test_warn_cutoff_agrees_with_the_rung() -> None:
    now = msk(2026, 11, 20, 17, 50)
    cutoff = warn_cutoff(STD, Target.RESOLUTION, now)
    assert cutoff == msk(2026, 11, 23, 11, 5)  # 10 min Friday + 125 min Monday
    assert rung(STD, Target.RESOLUTION, cutoff, now) is Rung.WARN
    assert rung(STD, Target.RESOLUTION, cutoff.replace(minute=6), now) is None


def test_warning_goes_to_the_staff_chat_in_working_hours_without_hold() -> None:
    who = PEOPLE[SPEC]
    sent = deliveries(Rung.WARN, ticket(), who, LEADS, WITH_CHAT, msk(2026, 11, 23, 12))
    assert [(d.channel, d.recipient, d.language, d.not_before) for d in sent] == [
        ("telegram", STAFF_CHAT, "ru", None)]


def test_warning_at_night_is_held_until_the_next_working_minute() -> None:
    sent = deliveries(Rung.WARN, ticket(), PEOPLE[SPEC], LEADS, WITH_CHAT,
                      msk(2026, 11, 20, 22))
    assert [d.not_before for d in sent] == [msk(2026, 11, 23, 9)]


def test_hold_follows_the_recipients_own_calendar() -> None:
    hours = StaffHours(STD.calendar, by_person={LEAD: BERLIN})
    ladder = replace(NO_CHAT, hours=hours)
    # 08:30 MSK on Monday: Sam (Moscow hours) starts at 09:00 MSK, Lena (Berlin) at 09:00 CET.
    sent = deliveries(Rung.BREACH, ticket(), PEOPLE[SPEC], LEADS, ladder,
                      msk(2026, 11, 23, 8, 30))
    assert {d.recipient: d.not_before for d in sent} == {
        "102": msk(2026, 11, 23, 9), "101": msk(2026, 11, 23, 11)}


def test_warning_without_staff_chat_goes_to_the_responsible_alone() -> None:
    sent = deliveries(Rung.WARN, ticket(), PEOPLE[SPEC], LEADS, NO_CHAT, msk(2026, 11, 23, 12))
    assert [(d.channel, d.recipient) for d in sent] == [("telegram", "102")]


def test_unassigned_warning_without_staff_chat_goes_to_the_lead() -> None:
    sent = deliveries(Rung.WARN, ticket(None), None, LEADS, NO_CHAT, msk(2026, 11, 23, 12))
    assert [d.person for d in sent] == [PEOPLE[LEAD]]


def test_breach_goes_to_responsible_and_lead_once_each() -> None:
    sent = deliveries(Rung.BREACH, ticket(), PEOPLE[SPEC], LEADS, WITH_CHAT,
                      msk(2026, 11, 23, 12))
    assert [(d.channel, d.recipient) for d in sent] == [("telegram", "102"), ("telegram", "101")]
    lead_is_responsible = deliveries(Rung.BREACH, ticket(LEAD), PEOPLE[LEAD], LEADS, WITH_CHAT,
                                     msk(2026, 11, 23, 12))
    assert [d.recipient for d in lead_is_responsible] == ["101"]


def test_outbox_items_are_keyed_by_the_alert_and_carry_localised_text() -> None:
    now = msk(2026, 11, 23, 9, 45)
    facts = AlertFacts(ticket(), STD, Target.FIRST_RESPONSE, Rung.WARN, msk(2026, 11, 23, 10),
                       PEOPLE[SPEC])
    sent = deliveries(Rung.WARN, facts.ticket, PEOPLE[SPEC], LEADS, WITH_CHAT, now)
    [item] = outbox_items(42, facts, sent, now, t)
    assert (item.key, item.kind, item.language) == (f"sla:42:telegram:{STAFF_CHAT}",
                                                    "sla_warning", "ru")
    text = t(item.language, "notify.sla_warning.body", **item.payload)
    assert text == ("Заявка #7 (Printer): Первый ответ — срок 2026-11-23 10:00 MSK, "
                    "осталось 15 мин рабочего времени. Исполнитель: Sam Spec.")
    assert item.payload["text"] == text
    assert item.payload["title"] == ("SLA: подходит срок по заявке #7: Первый ответ, "
                                     "2026-11-23 10:00 MSK")
    assert item.payload["responsible_telegram_id"] == 102
