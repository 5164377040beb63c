"""F10 for people: `/stats` text in both languages and only for staff, the CLI (text and
JSON), and the scheduled digest, posted once per period through the outbox."""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import digest, stats, stats_cli
from bot.bootstrap import bootstrap, jobs
from bot.runtime import App
from config.metrics import MetricsSettings
from config.reader import ConfigError
from config.settings import Settings, TelegramConfig, with_sla
from engine import metrics as m
from engine.errors import NotAllowed
from engine.model import Person, Role
from engine.store import tables as t
from engine.store.views import SqlViews
from tests.fakes import FixedClock
from tests.support_metrics import TZ_NAME, expected_figures, make_dataset, write_dataset

UTC = dt.UTC
MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
DATA = make_dataset(seed=11, tickets=60, dialogs=40,
                    first=dt.datetime(2025, 12, 1, tzinfo=UTC), now=NOW)
SPECIALIST = Person(id=1, name="Specialist 1", role=Role.SPECIALIST)
LEAD = Person(id=4, name="Lead", role=Role.LEAD)
CLIENT = Person(id=10, name="Client 10", role=Role.CLIENT)


def _settings(url: str, **metrics: object) -> Settings:
    # The service's zone is the machine's unless configured: these tests are set in Moscow.
    return with_sla(Settings(database_url=url, timezone=TZ_NAME,
                             telegram=TelegramConfig(staff_chat_id=-100500)),
                    {"metrics": dict(metrics)})


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    await write_dataset(engine, DATA)
    return engine


# --- formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "en", "ru"), [
    (None, "—", "—"), (0, "0 s", "0 с"), (45.9, "45 s", "45 с"), (720, "12 min", "12 мин"),
    (3600, "1 h", "1 ч"), (3660, "1 h 1 min", "1 ч 1 мин"), (93784, "1 d 2 h", "1 д 2 ч"),
    (172800, "2 d", "2 д"),
])
def test_durations_read_naturally_in_both_languages(seconds: float | None, en: str,
                                                    ru: str) -> None:
    assert (stats.duration("en", seconds), stats.duration("ru", seconds)) == (en, ru)


def _report() -> m.Report:
    fig = m.Figures(
        first_line=m.FirstLine(dialogs=12, answered=10, response=m.Timing(
            m.Durations(10, 600.0, 300.0, 1800.0), m.Durations(10, 300.0, 120.0, 900.0))),
        second_line=m.SecondLine(opened=7, closed=5, open_at_end=3,
                                 first_response_sla=m.Share(3, 4), resolution_sla=m.Share(),
                                 rating=m.RatingStats(2, 4.5)))
    person = m.SpecialistFigures(1, "Anna", fig)
    history = (m.MonthFigures(m.Period(2026, 1), m.Figures()), m.MonthFigures(m.Period(2026, 2),
                                                                             fig))
    return m.Report(m.Period(2026, 2), "Europe/Moscow", NOW, fig, (person,), history)


@pytest.mark.parametrize(("lang", "lines"), [
    ("en", ["Support statistics for 2026-02 (Europe/Moscow)",
            "First line: 12 dialogs, 10 answered",
            "Response time: mean 10 min, median 5 min, p90 30 min",
            "Second line: 7 opened, 5 closed, 3 still open at the month's end",
            "SLA met: first response 75% (3 of 4), resolution no data yet",
            "Rating: 4.5 of 5 (2 ratings)", "• Anna: 10 dialogs answered, median response 5 min",
            "• 2026-01: 0 dialogs, median response —"]),
    ("ru", ["Статистика поддержки за 2026-02 (Europe/Moscow)",
            "Первая линия: диалогов 12, с ответом 10",
            "Время ответа: среднее 10 мин, медиана 5 мин, p90 30 мин",
            "Вторая линия: новых заявок 7, закрыто 5, не закрыто на конец месяца 3",
            "SLA соблюдён: первый ответ 75% (3 из 4), решение данных пока нет",
            "Оценка: 4.5 из 5 (оценок: 2)", "• Anna: ответов в диалогах 10, медиана ответа 5 мин",
            "• 2026-01: диалогов 0, медиана ответа —"]),
])
def test_report_text_in_each_language(lang: str, lines: list[str]) -> None:
    text = stats.render_report(_report(), lang)
    for line in lines:
        assert any(row.startswith(line) for row in text.splitlines()), line


def test_report_json_keeps_every_figure_in_plain_types() -> None:
    data = json.loads(json.dumps(stats.report_json(_report())))
    assert data["period"] == "2026-02" and data["generated_at"] == NOW.isoformat()
    assert data["total"]["first_line"]["response"]["calendar"]["p90"] == 1800.0
    assert data["specialists"][0]["name"] == "Anna"
    assert [h["period"] for h in data["history"]] == ["2026-01", "2026-02"]


# --- settings ------------------------------------------------------------------------------


def test_metrics_settings_defaults_and_overrides() -> None:
    assert _settings("sqlite://").sla.metrics == MetricsSettings(chat_id=-100500)
    custom = _settings("sqlite://", digest="weekly", digest_time="08:30",
                       digest_weekday="fri", chat_id=7, language="ru").sla.metrics
    assert (custom.digest, custom.digest_time, custom.digest_weekday, custom.chat_id,
            custom.language) == ("weekly", dt.time(8, 30), 4, 7, "ru")


@pytest.mark.parametrize("bad", [{"digest": "hourly"}, {"digest_time": "9 am"},
                                 {"colour": "red"}, {"chat_id": "chat"},
                                 {"history_months": 0}])
def test_bad_metrics_settings_name_the_key(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"sla\.metrics\."):
        _settings("sqlite://", **bad)


def test_rating_settings_read_from_config_and_refuse_unknown_keys() -> None:
    settings = with_sla(_settings("sqlite://"), {"ratings": {"cooldown_days": 7}})
    assert settings.sla.ratings.cooldown_days == 7
    with pytest.raises(ConfigError, match=r"sla\.ratings\.often: unknown key"):
        with_sla(settings, {"ratings": {"often": 1}})


def test_rating_reactors_follow_the_switch() -> None:
    on = stats.rating_reactors(_settings("sqlite://"), b"s")
    off = stats.rating_reactors(with_sla(_settings("sqlite://"),
                                         {"ratings": {"enabled": False}}), b"s")
    assert (len(on), off) == (1, [])


def test_business_calendar_ignores_our_own_sections() -> None:
    calendar = _settings("sqlite://", digest="daily").sla.business_calendar
    assert calendar.tz == MSK


# --- /stats --------------------------------------------------------------------------------


@pytest.mark.parametrize("person", [CLIENT, None])
async def test_stats_are_refused_to_anyone_but_staff(seeded: AsyncEngine,
                                                     person: Person | None) -> None:
    with pytest.raises(NotAllowed):
        await stats.stats_text(SqlViews(seeded), _settings("x"), person, "2026-02", NOW, "en")


@pytest.mark.parametrize("person", [SPECIALIST, LEAD])
async def test_stats_answer_specialists_and_the_lead(seeded: AsyncEngine, person: Person) -> None:
    text = await stats.stats_text(SqlViews(seeded), _settings("x"), person, "2026-02", NOW, "ru")
    expected = expected_figures(DATA, m.Period(2026, 2), NOW).second_line
    assert text.startswith("Статистика поддержки за 2026-02")
    assert (f"новых заявок {expected.opened}, закрыто {expected.closed}, "
            f"не закрыто на конец месяца {expected.open_at_end}") in text


async def test_stats_without_a_period_report_the_current_month(seeded: AsyncEngine) -> None:
    text = await stats.stats_text(SqlViews(seeded), _settings("x"), LEAD, None, NOW, "en")
    assert text.startswith("Support statistics for 2026-03")


# --- the CLI -------------------------------------------------------------------------------


def _cli_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    stats_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["stats", *argv])


async def test_cli_json_has_the_oracles_figures(seeded: AsyncEngine, db_url: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    args = _cli_args("--period", "2026-01", "--json")
    assert await args.func(args, _settings(db_url)) == 0
    data = json.loads(capsys.readouterr().out)
    expected = expected_figures(DATA, m.Period(2026, 1), dt.datetime.now(UTC))
    line = data["total"]["second_line"]
    assert (line["opened"], line["closed"]) == (expected.second_line.opened,
                                                expected.second_line.closed)
    assert data["total"]["first_line"]["response"]["calendar"]["median"] == (
        expected.first_line.response.calendar.median)


async def test_cli_text_and_a_bad_period(seeded: AsyncEngine, db_url: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    args = _cli_args("--period", "2026-01", "--lang", "ru")
    assert await args.func(args, _settings(db_url)) == 0
    assert capsys.readouterr().out.startswith("Статистика поддержки за 2026-01")
    bad = _cli_args("--period", "January")
    assert await bad.func(bad, _settings(db_url)) == 2
    assert "YYYY-MM" in capsys.readouterr().err


# --- the digest ----------------------------------------------------------------------------


@asynccontextmanager
async def _app(settings: Settings) -> AsyncIterator[App]:
    app = await bootstrap(settings, clock=FixedClock(NOW), secret=b"s")
    try:
        yield app
    finally:
        await app.close()


async def _digests(db: AsyncEngine) -> list[dict[str, object]]:
    async with db.connect() as conn:
        rows = await conn.execute(select(t.outbox).where(t.outbox.c.kind == "digest"))
        return [dict(r._mapping) for r in rows]


@pytest.mark.parametrize(("schedule", "now", "period", "run"), [
    ("daily", dt.datetime(2026, 3, 20, 6, 0, tzinfo=UTC), "2026-03", "2026-03-20"),
    ("daily", dt.datetime(2026, 3, 1, 6, 0, tzinfo=UTC), "2026-02", "2026-03-01"),
    ("weekly", dt.datetime(2026, 3, 16, 6, 0, tzinfo=UTC), "2026-03", "2026-W12"),
    ("monthly", dt.datetime(2026, 3, 1, 6, 0, tzinfo=UTC), "2026-02", "2026-02"),
])
def test_digest_reports_the_month_of_yesterday(schedule: str, now: dt.datetime, period: str,
                                               run: str) -> None:
    found = digest.digest_for(schedule, now, MSK)
    assert (str(found.period), found.run_period) == (period, run)


async def test_digest_is_posted_once_per_period(seeded: AsyncEngine, db_url: str) -> None:
    monday = dt.datetime(2026, 3, 16, 6, 0, tzinfo=UTC)
    async with _app(_settings(db_url, digest="weekly", language="ru")) as rt:
        config = rt.settings.sla.metrics
        assert await digest.post_digest(rt, config, monday) is True
        assert await digest.post_digest(rt, config, monday + dt.timedelta(hours=1)) is False
        [row] = await _digests(seeded)
        payload = row["payload"]
        assert isinstance(payload, dict)
        assert (row["channel"], row["recipient"], row["language"]) == ("telegram", "-100500",
                                                                       "ru")
        assert str(payload["text"]).startswith("Еженедельная сводка поддержки\n\nСтатистика")
        assert base64.b64decode(str(payload["chart_png"]))[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(payload["caption"]).startswith("2025-10 … 2026-03")
        assert await digest.post_digest(rt, config, monday + dt.timedelta(days=7)) is True


async def test_overlapping_digest_runs_post_once(seeded: AsyncEngine, db_url: str) -> None:
    async with _app(_settings(db_url, digest="daily")) as rt:
        config = rt.settings.sla.metrics
        results = await asyncio.gather(*(digest.post_digest(rt, config, NOW) for _ in range(3)))
    assert sorted(results) == [False, False, True]
    assert len(await _digests(seeded)) == 1


async def test_digest_job_is_registered_and_scheduled_in_service_time(engine: AsyncEngine,
                                                                      db_url: str) -> None:
    assert "metrics_digest" in [spec.id for spec in jobs()]
    async with _app(_settings(db_url)) as rt:
        off = digest.digest_job(rt)
    async with _app(_settings(db_url, digest="weekly", digest_time="09:30")) as rt:
        weekly = digest.digest_job(rt)
    assert off is None and weekly is not None
    fire = weekly.trigger.get_next_fire_time(None, NOW.astimezone(MSK))  # a Friday
    assert fire == dt.datetime(2026, 3, 23, 9, 30, tzinfo=MSK)
