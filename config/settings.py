"""Settings: a TOML file (`--config` or TICKETBOT_CONFIG) plus secrets from the environment,
validated at load into frozen dataclasses. With no file at all, the embedded defaults run a
working service: SQLite in ./data and SMTP intake for support@localhost on 127.0.0.1:2525."""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from config import directories
from config.answers import CannedAnswer, parse_answers
from config.metrics import Fallbacks
from config.reader import ConfigError, Table
from config.routing import with_routing
from config.sla import SlaConfig, default_sla, parse_sla
from config.ticket_types import check_default, read_types
from engine.directory import CompanySpec, ContractSpec, EquipmentSpec, ObjectSpec, PersonSpec
from engine.files import FileLimits
from engine.model import Role
from engine.settings import EngineSettings

LANGUAGES = ("en", "ru")
ROLES = tuple(r.value for r in Role)


@dataclass(frozen=True)
class ImapConfig:
    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    tls: str = "ssl"
    mailbox: str = "INBOX"
    move_to: str | None = None
    idle: bool = True
    poll_seconds: int = 60


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 25
    tls: str = "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    # Relay connections a batch is sent over at once: the relay works on one mail while we
    # prepare or send the next. Three: what Exchange Online takes from one mailbox; a relay
    # that refuses one more connection only leaves that connection's share to the others.
    connections: int = 3


@dataclass(frozen=True)
class EmailConfig:
    address: str = "support@localhost"
    listen_host: str = "127.0.0.1"
    listen_port: int | None = 2525
    lmtp: bool = False
    max_size: int = 25 * 1024 * 1024
    subject_tag: str = "[#{number}]"
    imap: ImapConfig | None = None
    smtp: SmtpConfig | None = None
    auto_reply_limit: int = 5
    # How long the signed Message-ID of a mail we sent a specialist lets a reply to it act
    # in their name (an internal note, a command); older links prove nothing.
    staff_link_days: int = 30
    # A mail that would open a ticket but quotes the acknowledgement we sent its sender
    # this many minutes ago at most is an auto-responder's echo: it joins that ticket.
    auto_loop_minutes: int = 10
    # A file larger than this is not attached to a staff notification mail: a line names
    # it, its size and the command that fetches it (`ticketbot attachment get N NAME`).
    notify_attach_max_bytes: int = 10 * 1024 * 1024

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class TelegramConfig:
    token: str | None = field(default=None, repr=False)
    api_url: str = "https://api.telegram.org"
    support_chat_id: int | None = None
    staff_chat_id: int | None = None
    dialog_window_minutes: int = 10
    # `enabled = false` keeps the channel off even with a token configured (`token` is then
    # None, which is what every part of the channel checks).
    enabled: bool = True


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default="sqlite+aiosqlite:///data/ticketbot.db", repr=False)
    language: str = "en"
    # The machine's zone unless `[service] timezone` says otherwise (see machine_timezone).
    timezone: str = field(default_factory=lambda: machine_timezone())
    log_level: str = "INFO"
    secret: str | None = field(default=None, repr=False)
    engine: EngineSettings = EngineSettings()
    people: tuple[PersonSpec, ...] = ()
    companies: tuple[CompanySpec, ...] = ()
    email: EmailConfig = EmailConfig()
    telegram: TelegramConfig = TelegramConfig()
    # Read from `[sla]` by the loader against the rest of the file; a Settings built by hand
    # with its own companies, address or staff chat gets a matching one from `with_sla`.
    sla: SlaConfig = field(default_factory=default_sla)
    # A requester's message to a ticket resolved longer ago opens a linked ticket instead
    # of reopening it (mail and chat alike, bot/threading/finished.py).
    reopen_days: int = 7
    # F11's other directories (config/directories.py).
    contracts: tuple[ContractSpec, ...] = ()
    objects: tuple[ObjectSpec, ...] = ()
    equipment: tuple[EquipmentSpec, ...] = ()
    # `[answers.NAME]`: canned answers for `/answer N name` (config/answers.py).
    answers: tuple[CannedAnswer, ...] = ()


_TOP = frozenset({"service", "tickets", "people", "companies", "email", "telegram", "sla",
                  "desks", "routing", "contracts", "objects", "equipment", "answers",
                  "files"})
_FILES = frozenset({"max_file_size", "max_message_size"})
_SERVICE = frozenset({"database_url", "language", "timezone", "log_level"})
_TICKETS = frozenset({"types", "default_type", "priorities", "default_priority", "prefix",
                      "reopen_days", "answer_grace_seconds"})
_PERSON = frozenset({"name", "role", "emails", "telegram_id", "username", "company",
                     "language", "notify_via", "phone", "manager"})
_COMPANY = frozenset({"name", "domains", "manager"})
_EMAIL = frozenset({"address", "listen_host", "listen_port", "lmtp", "max_size", "subject_tag",
                    "imap", "smtp", "auto_reply_limit", "staff_link_days",
                    "auto_loop_minutes", "smtp_intake", "notify_attach_max_bytes"})
_SMTP_INTAKE = frozenset({"enabled"})
_IMAP = frozenset({"host", "port", "user", "password", "tls", "mailbox", "move_to", "idle",
                   "poll_seconds", "enabled"})
_SMTP = frozenset({"host", "port", "tls", "user", "password", "connections"})
_TELEGRAM = frozenset({"token", "api_url", "support_chat_id", "staff_chat_id",
                       "dialog_window_minutes", "reopen_days", "enabled"})


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Read the file (if any), then let the environment override the secrets."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return from_mapping(data, environ)


def from_mapping(data: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    root = Table(data, "", _TOP)
    service = root.table("service", _SERVICE)
    people = tuple(_person(t) for t in root.tables("people", _PERSON))
    companies = tuple(_company(t) for t in root.tables("companies", _COMPANY))
    _check_companies(people, companies)
    contracts = tuple(directories.contract(t) for t in root.tables("contracts",
                                                                   directories.CONTRACT))
    objects = tuple(directories.service_object(t) for t in root.tables("objects",
                                                                       directories.OBJECT))
    equipment = tuple(directories.equipment(t) for t in root.tables("equipment",
                                                                    directories.EQUIPMENT))
    directories.check(people, companies, contracts, objects, equipment)
    settings = Settings(
        database_url=environ.get("TICKETBOT_DATABASE_URL")
        or service.text("database_url", Settings.database_url),
        language=service.choice("language", "en", LANGUAGES),
        timezone=_timezone(service),
        log_level=service.choice("log_level", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        secret=environ.get("TICKETBOT_SECRET"),
        engine=replace(_engine(root.table("tickets", _TICKETS), service),
                       files=_files(root.table("files", _FILES))),
        people=people, companies=companies,
        email=_email(root.table("email", _EMAIL), environ),
        telegram=_telegram(root.table("telegram", _TELEGRAM), environ),
        reopen_days=_reopen_days(root.table("tickets", _TICKETS),
                                 root.table("telegram", _TELEGRAM)),
        contracts=contracts, objects=objects, equipment=equipment,
        answers=parse_answers(_section(data, "answers")),
    )
    return with_sla(with_desks(settings, data), _section(data, "sla"))


def with_desks(settings: Settings, data: Mapping[str, Any]) -> Settings:
    """`settings` with the `[[desks]]` and `[routing]` of `data` (config/routing.py) read
    against their people and companies; before `with_sla`, since desks choose policies."""
    return replace(settings, engine=with_routing(
        settings.engine, data, settings.people, settings.companies, settings.email.address,
        settings.telegram.staff_chat_id))


def with_sla(settings: Settings, raw: Mapping[str, Any] | None = None) -> Settings:
    """`settings` with the `[sla]` section `raw` read against them: rule companies must be
    declared, and the metrics chat and language and the ratings' reply address default to the
    staff chat, the service language and the support address."""
    fallbacks = Fallbacks(language=settings.language, chat_id=settings.telegram.staff_chat_id,
                          reply_address=settings.email.address)
    sla = parse_sla(raw or {}, settings.engine, [c.name for c in settings.companies], fallbacks)
    return replace(settings, sla=sla)


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a table, got {value!r}")
    return value


def _timezone(service: Table) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = service.text("timezone", "") or machine_timezone()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"service.timezone: unknown time zone {name!r}") from None
    return name


def machine_timezone(environ: Mapping[str, str] | None = None,
                     etc: Path = Path("/etc")) -> str:
    """This machine's IANA time zone: $TZ, else /etc/timezone, else where /etc/localtime
    points; UTC when none of them names a zone Python knows."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    env = os.environ if environ is None else environ
    candidates = [env.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append((etc / "timezone").read_text(encoding="utf-8").strip())
    with contextlib.suppress(OSError):
        target = os.readlink(etc / "localtime")
        candidates.append(target.partition("zoneinfo/")[2])
    for name in candidates:
        if not name or name.startswith("/"):
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


def secrets_of(settings: Settings) -> list[str]:
    """Every configured secret, for the log's redaction (`bot/logs.py`)."""
    found = [settings.secret, settings.telegram.token]
    if settings.email.imap is not None:
        found.append(settings.email.imap.password)
    if settings.email.smtp is not None:
        found.append(settings.email.smtp.password)
    # Short values ("pw", "1") would mask ordinary words: only masked as part of URLs.
    return [s for s in found if s and len(s) >= 4]


def _engine(t: Table, service: Table) -> EngineSettings:
    d = EngineSettings()
    specs = read_types(t, d.types)
    types, priorities = tuple(s.name for s in specs), t.strings("priorities", d.priorities)
    default_type = t.choice("default_type", d.default_type if d.default_type in types
                            else types[0], types)
    check_default(specs, default_type, f"{t.path}.default_type")
    default_priority = t.choice("default_priority", d.default_priority
                                if d.default_priority in priorities else priorities[0],
                                priorities)
    return EngineSettings(types=types, type_specs=specs, default_type=default_type,
                          priorities=priorities,
                          default_priority=default_priority, ticket_prefix=t.text("prefix", "#"),
                          language=service.choice("language", "en", LANGUAGES),
                          answer_grace_seconds=t.whole("answer_grace_seconds",
                                                       d.answer_grace_seconds))


def _files(t: Table) -> FileLimits:
    """`[files]`: bytes per file and per message (engine/files.py)."""
    d = FileLimits()
    per_file = t.whole("max_file_size", d.max_file_size, 1)
    per_message = t.whole("max_message_size", max(d.max_message_size, per_file), 1)
    if per_message < per_file:
        raise ConfigError(f"files.max_message_size: must be at least files.max_file_size "
                          f"({per_file}), got {per_message}")
    return FileLimits(max_file_size=per_file, max_message_size=per_message)


def _person(t: Table) -> PersonSpec:
    name = t.text("name", "")
    if not name:
        raise ConfigError(f"{t.path}.name: every person needs a name")
    emails = tuple(e.lower() for e in t.strings("emails"))
    if not emails and t.opt_whole("telegram_id") is None:
        raise ConfigError(f"{t.path}: give emails or telegram_id, so the person can be known")
    return PersonSpec(
        name=name, role=t.choice("role", "client", ROLES), emails=emails,
        telegram_id=t.opt_whole("telegram_id"), username=t.opt_text("username"),
        company=t.opt_text("company"), language=t.choice("language", "en", LANGUAGES),
        notify_via=t.choice("notify_via", "auto", ("auto", "email", "telegram", "none")),
        phone=t.opt_text("phone"), manager_email=(t.opt_text("manager") or "").lower() or None)


def _company(t: Table) -> CompanySpec:
    name = t.text("name", "")
    if not name:
        raise ConfigError(f"{t.path}.name: every company needs a name")
    manager = t.opt_text("manager")
    return CompanySpec(name=name, domains=tuple(d.lower() for d in t.strings("domains")),
                       manager_email=None if manager is None else manager.lower())


def _check_unique(people: tuple[PersonSpec, ...], companies: tuple[CompanySpec, ...]) -> None:
    """Every key the directory is matched by names one person or company only: the sync at
    start-up would otherwise merge two entries into one."""
    seen: dict[object, str] = {}
    for i, person in enumerate(people):
        keys: list[tuple[str, tuple[str, object]]] = [
            (f"people[{i}].emails", ("email", e)) for e in person.emails]
        if person.telegram_id is not None:
            keys.append((f"people[{i}].telegram_id", ("telegram", person.telegram_id)))
        if person.username:
            keys.append((f"people[{i}].username",
                         ("username", person.username.lstrip("@").casefold())))
        for key, value in keys:
            if value in seen:
                raise ConfigError(f"{key}: {value[1]!r} is already given to {seen[value]}")
            seen[value] = f"people[{i}] ({person.name})"
    for i, company in enumerate(companies):
        named = [(f"companies[{i}].name", ("company", company.name))]
        named += [(f"companies[{i}].domains", ("domain", d)) for d in company.domains]
        for key, value in named:
            if value in seen:
                raise ConfigError(f"{key}: {value[1]!r} is already given to {seen[value]}")
            seen[value] = f"companies[{i}] ({company.name})"


def _check_companies(people: tuple[PersonSpec, ...],
                     companies: tuple[CompanySpec, ...]) -> None:
    _check_unique(people, companies)
    names = {c.name for c in companies}
    for i, person in enumerate(people):
        if person.company is not None and person.company not in names:
            raise ConfigError(f"people[{i}].company: no company named {person.company!r}")
    # A manager is named by address and must be one of the declared people: the directory
    # sync at start-up has no one else to make responsible.
    addresses = {e for person in people for e in person.emails}
    for i, company in enumerate(companies):
        if company.manager_email is not None and company.manager_email not in addresses:
            raise ConfigError(f"companies[{i}].manager: no declared person has the address "
                              f"{company.manager_email!r}")


def _email(t: Table, environ: Mapping[str, str]) -> EmailConfig:
    d = EmailConfig()
    address = t.text("address", d.address)
    if "@" not in address:
        raise ConfigError(f"email.address: expected an address like support@example.com, "
                          f"got {address!r}")
    imap = t.table("imap", _IMAP) if "imap" in t.data else None
    if imap is not None and not imap.flag("enabled", True):
        imap = None  # `[email.imap] enabled = false`: configured, but not fetched from
    smtp = t.table("smtp", _SMTP) if "smtp" in t.data else None
    intake = t.table("smtp_intake", _SMTP_INTAKE).flag("enabled", True)
    port = t.whole("listen_port", 0) if "listen_port" in t.data else d.listen_port
    return EmailConfig(
        address=address.lower(), listen_host=t.text("listen_host", d.listen_host),
        # `[email.smtp_intake] enabled = false`: no SMTP/LMTP listener at all.
        listen_port=port if intake else None,
        lmtp=t.flag("lmtp", False), max_size=t.whole("max_size", d.max_size, 1024),
        subject_tag=_subject_tag(t), auto_reply_limit=t.whole("auto_reply_limit", 5),
        staff_link_days=t.whole("staff_link_days", d.staff_link_days, 1),
        auto_loop_minutes=t.whole("auto_loop_minutes", d.auto_loop_minutes, 0),
        notify_attach_max_bytes=t.whole("notify_attach_max_bytes", d.notify_attach_max_bytes,
                                        0),
        imap=None if imap is None else _imap(imap, environ),
        smtp=None if smtp is None else _smtp(smtp, environ))


def _subject_tag(t: Table) -> str:
    tag = t.text("subject_tag", EmailConfig.subject_tag)
    if "{number}" not in tag:
        raise ConfigError(f"email.subject_tag: must contain {{number}}, got {tag!r}")
    return tag


def _imap(t: Table, environ: Mapping[str, str]) -> ImapConfig:
    tls = t.choice("tls", "ssl", ("ssl", "none"))
    return ImapConfig(
        host=t.text("host", ""), user=t.text("user", ""),
        password=environ.get("TICKETBOT_IMAP_PASSWORD") or t.text("password", ""),
        port=t.whole("port", 993 if tls == "ssl" else 143, 1), tls=tls,
        mailbox=t.text("mailbox", "INBOX"), move_to=t.opt_text("move_to"),
        idle=t.flag("idle", True), poll_seconds=t.whole("poll_seconds", 60, 1))


def _smtp(t: Table, environ: Mapping[str, str]) -> SmtpConfig:
    return SmtpConfig(
        host=t.text("host", "127.0.0.1"), port=t.whole("port", 25, 1),
        tls=t.choice("tls", "none", ("none", "starttls", "ssl")), user=t.opt_text("user"),
        password=environ.get("TICKETBOT_SMTP_PASSWORD") or t.opt_text("password"),
        connections=t.whole("connections", SmtpConfig.connections, 1))


def _telegram(t: Table, environ: Mapping[str, str]) -> TelegramConfig:
    d = TelegramConfig()
    enabled = t.flag("enabled", True)
    token = environ.get("TICKETBOT_TELEGRAM_TOKEN") or t.opt_text("token")
    return TelegramConfig(
        token=token if enabled else None, enabled=enabled,
        api_url=t.text("api_url", d.api_url).rstrip("/"),
        support_chat_id=t.opt_whole("support_chat_id"), staff_chat_id=t.opt_whole("staff_chat_id"),
        dialog_window_minutes=t.whole("dialog_window_minutes", d.dialog_window_minutes, 1))


def _reopen_days(tickets: Table, telegram: Table) -> int:
    """`tickets.reopen_days`; `telegram.reopen_days` is its old name, still read."""
    if "reopen_days" in tickets.data and "reopen_days" in telegram.data:
        raise ConfigError("tickets.reopen_days: also set as telegram.reopen_days, its old "
                          "name; keep only tickets.reopen_days")
    source = telegram if "reopen_days" in telegram.data else tickets
    return source.whole("reopen_days", Settings.reopen_days)
