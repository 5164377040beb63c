"""The catalogs: complete in both languages, and every refusal has a sentence."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from bot.commands.help import render_help
from bot.commands.registry import COMMANDS, MAIL
from bot.i18n import CATALOG, explain, language, priority_name, status_name, t
from engine import errors, ratings
from engine.access import Action
from engine.model import TRANSITIONS, Status
from engine.settings import EngineSettings

LANGS = ("en", "ru")
COMMAND_MODULES = ("bot/commands/registry.py", "bot/commands/grammar.py")
ROOT = Path(__file__).resolve().parent.parent
NOTICE_KINDS = ("ack", "created", "created_cc", "assigned", "unassigned", "responsible",
                "status", "comment", "note", "observing")
GENERIC = ("done", "ticket_opened", "ticket_exists", "taken", "not_a_specialist",
           "help_header", "help_footer")


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def command_error_keys() -> set[str]:
    """Every `CommandError("key", ...)` the command modules can return, read from their source
    so a new key without a text fails here."""
    keys: set[str] = set()
    for module in COMMAND_MODULES:
        for node in ast.walk(ast.parse((ROOT / module).read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "CommandError" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                keys.add(str(node.args[0].value))
    return keys


def engine_errors() -> list[type[errors.EngineError]]:
    return list(errors.EngineError.__subclasses__())


def test_both_languages_have_the_same_keys() -> None:
    assert set(CATALOG["en"]) == set(CATALOG["ru"])


@pytest.mark.parametrize("key", sorted(CATALOG["en"]))
def test_same_placeholders_and_nonempty_in_both(key: str) -> None:
    en, ru = CATALOG["en"][key], CATALOG["ru"][key]
    assert en.strip() and ru.strip()
    assert placeholders(en) == placeholders(ru)


def test_command_error_keys_were_found() -> None:
    assert {"unknown_command", "missing_ticket", "bad_number", "unknown_status", "bad_date",
            "missing_text", "unknown_person"} <= command_error_keys()


@pytest.mark.parametrize("key", sorted(command_error_keys()))
def test_every_command_error_has_a_text(key: str) -> None:
    assert all(key in CATALOG[lang] for lang in LANGS)


@pytest.mark.parametrize("exc_type", engine_errors())
def test_every_engine_error_code_has_a_text(exc_type: type[errors.EngineError]) -> None:
    assert all(exc_type.code in CATALOG[lang] for lang in LANGS)


@pytest.mark.parametrize("key", [
    *(f"status.{s.value}" for s in Status),
    *(f"priority.{p}" for p in EngineSettings().priorities),
    *(f"action.{a.value}" for a in Action),
    *(f"notify.{kind}.{part}" for kind in NOTICE_KINDS for part in ("subject", "body")),
    *GENERIC,
])
def test_required_texts_exist(key: str) -> None:
    assert all(key in CATALOG[lang] for lang in LANGS)


@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_notices_name_the_ticket(kind: str) -> None:
    for lang in LANGS:
        subject = t(lang, f"notify.{kind}.subject", number=42, subject="Printer", status="x")
        body = t(lang, f"notify.{kind}.body", number=42, subject="Printer", status="x",
                 author="Sam", responsible="Olga")
        assert "Printer" in subject and "42" in body and "{" not in subject + body


def test_t_fills_placeholders_and_falls_back() -> None:
    assert t("en", "taken", number=12) == "You took ticket #12."
    assert t("ru", "taken", number=12) == "Вы взяли заявку #12 в работу."
    assert t("de", "taken", number=12) == t("en", "taken", number=12)
    assert t("ru-RU", "done") == "Готово."
    assert t("en", "taken") == "You took ticket #{number}."  # a missing value never raises
    assert t("en", "no.such.key") == "no.such.key"


@pytest.mark.parametrize(("code", "expected"), [
    ("ru", "ru"), ("RU", "ru"), ("ru-RU", "ru"), ("ru_RU", "ru"), ("en-GB", "en"),
    ("de", "en"), ("", "en"), (None, "en"),
])
def test_language(code: str | None, expected: str) -> None:
    assert language(code) == expected


def test_status_and_priority_names() -> None:
    assert status_name("ru", "in_progress") == "в работе"
    assert status_name("en", "in_progress") == "in progress"
    assert status_name("ru", "someday") == "someday"
    assert priority_name("ru", "urgent") == "срочный"


# One of each refusal the engine raises, with and without a ticket number.
SAMPLES: list[tuple[errors.EngineError, int | None]] = [
    (errors.TicketNotFound(number=4711), 4711),
    (ratings.RatingNotRequester(number=4711), 4711),
    (ratings.RatingTwice(number=4711), 4711),
    (ratings.RatingNoSurvey(number=4711), 4711),
    (ratings.RatingBadScore(score=9, scale=5), None),
    (errors.PersonNotFound(who="@ghost"), None),
    (errors.NotAllowed(action="take", role="client", number=4711), 4711),
    (errors.NotAllowed(action="metrics", role="client"), None),
    (errors.NotAllowed(action="teleport", role="client", number=4711), 4711),
    (errors.InvalidTransition(number=4711, old="closed", new="open", allowed=()), 4711),
    (errors.InvalidTransition(number=4711, old="resolved", new="in_progress",
                              allowed=("closed", "open")), 4711),
    (errors.TicketClosed(number=4711), 4711),
    (errors.InvalidValue(field="priority", value="blocker",
                         reason="not one of the choices", choices=("low", "normal", "high", "urgent")), None),
    (errors.InvalidValue(field="until", value="", reason="waiting needs an until-time"), None),
    (errors.InvalidValue(field="until", value="2020-01-01T00:00:00+00:00",
                         reason="must be an aware time in the future"), None),
    (errors.InvalidValue(field="responsible", value="4", reason="not a specialist"), None),
    (errors.InvalidValue(field="tag", value="", reason="empty"), None),
    (errors.MailNotFound(inbound_id=4711), None),
    (errors.QuarantinedMailNotFound(inbound_id=4711), None),
    (errors.NotAllowed(action="rescue", role="client"), None),
    (errors.NothingToWithdraw(number=4711), 4711),
    (errors.NothingToWithdraw(), None),
    # issue 14: the ticket fields (engine/fields.py)
    (errors.InternalTypeNeeded(number=4711, type="question", choices="design, mounting"), 4711),
    (errors.PublicTypeNeeded(number=4711, type="design", choices="question, incident"), 4711),
    (errors.InternalTicket(number=4711), 4711),
    (errors.SpentBelowZero(number=4711, total=30), 4711),
    (errors.NotAllowed(action="due", role="client", number=4711), 4711),
    (errors.UnknownDesk(desk="finance", known="support, billing"), None),
    (errors.MergeIntoItself(number=4711), 4711),
    (errors.MergeTargetClosed(number=4711), 4711),
    (errors.MergeSourceClosed(number=4711, target=12), 4711),
    (errors.EngineError(), None),
    # F11 directories
    (errors.NotAllowed(action="directory", role="client"), None),
    (errors.NotAllowed(action="link", role="client", number=4711), 4711),
    (errors.EntryNotFound(field="contract", value="C-9"), None),
    (errors.EntryAmbiguous(field="company", value="Acme"), None),
    (errors.EntryOfAnotherCompany(field="object", value="7", number=4711), 4711),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("exc", "number"), SAMPLES)
def test_explain(lang: str, exc: errors.EngineError, number: int | None) -> None:
    text = explain(lang, exc)
    assert text and "{" not in text and exc.code not in text
    if number is not None:
        assert f"#{number}" in text


def test_explain_every_engine_error_type_is_sampled() -> None:
    assert {type(exc) for exc, _ in SAMPLES} >= set(engine_errors())


def test_explain_names_actions_and_statuses_in_the_language() -> None:
    refused = errors.NotAllowed(action="take", role="client", number=3)
    assert "taking tickets" in explain("en", refused)
    assert "взятие заявок" in explain("ru", refused)
    moved = errors.InvalidTransition(number=3, old="resolved", new="in_progress",
                                     allowed=("closed", "open"))
    assert "closed, open" in explain("en", moved)
    assert "закрыта, открыта" in explain("ru", moved)
    assert "в работе" in explain("ru", moved)
    bad = errors.InvalidValue(field="priority", value="blocker",
                              reason="not one of the choices", choices=("low", "normal", "high", "urgent"))
    assert "низкий, обычный, высокий, срочный" in explain("ru", bad)


@pytest.mark.parametrize("old", list(Status))
def test_explain_every_transition_table_row(old: Status) -> None:
    allowed = tuple(sorted(s.value for s in TRANSITIONS[old]))
    exc = errors.InvalidTransition(number=9, old=old.value, new="closed", allowed=allowed)
    for lang in LANGS:
        assert "#9" in explain(lang, exc)


# --- /help ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_help_for_staff_lists_every_command(lang: str) -> None:
    text = render_help(lang, staff=True)
    assert text.startswith(t(lang, "help_header"))
    for spec in COMMANDS.values():
        assert f"{spec.usage} — {spec.summary[lang]}" in text


@pytest.mark.parametrize("lang", LANGS)
def test_help_for_clients_hides_staff_commands(lang: str) -> None:
    lines = render_help(lang, staff=False).splitlines()
    shown = {spec.name for spec in COMMANDS.values()
             if any(line.startswith(spec.usage + " ") for line in lines)}
    assert shown == {n for n, s in COMMANDS.items() if not s.staff_only}


def test_help_by_mail_leaves_out_chat_only_commands() -> None:
    text = render_help("en", staff=True, channel=MAIL)
    # "/ticket " with its space: /tickets (F11) works by mail.
    assert "/ticket " not in text and "/start" not in text and "/take [N]" in text


def test_help_in_an_unknown_language_is_english() -> None:
    assert render_help("de", staff=True) == render_help("en", staff=True)
