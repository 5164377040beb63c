"""Every table, as SQLAlchemy Core. Times are aware UTC on both backends (`UtcDateTime`);
JSON is kept as text so SQLite and PostgreSQL store and return exactly the same thing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

from engine.store.clean import CleanString, CleanText, clean_text


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC, returns aware UTC: SQLite keeps no offset, so naive values read back
    from it are UTC by construction. Naive input is refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None,
                           dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None,
                             dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class JsonText(TypeDecorator[Any]):
    """JSON in a TEXT column: identical on both backends and readable with sqlite3."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        # NUL comes out escaped; a lone surrogate would come out as it is.
        return clean_text(json.dumps(value, ensure_ascii=False, default=_json_default))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


# Named constraints let later migrations drop or alter them (SQLite batch mode needs names).
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


def _time(name: str, nullable: bool = True) -> Column[dt.datetime]:
    return Column(name, UtcDateTime(), nullable=nullable)


def _ticket_fk(name: str = "ticket", nullable: bool = False) -> Column[int]:
    return Column(name, Integer, ForeignKey("tickets.number"), nullable=nullable)


def _person_fk(name: str) -> Column[int]:
    return Column(name, Integer, ForeignKey("people.id"), nullable=True)


# `companies.manager_id` -> people closes a cycle with `people.company_id` -> companies;
# use_alter lets PostgreSQL create the tables first and add that key afterwards.
companies = Table(
    "companies", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("domains", Text, nullable=False, server_default=""),  # space-separated, lower case
    Column("manager_id", Integer,
           ForeignKey("people.id", use_alter=True, name="fk_companies_manager_id_people"),
           nullable=True),
)

people = Table(
    "people", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("telegram_id", BigInteger, nullable=True, unique=True),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=True),
    Column("language", String(16), nullable=False, server_default="en"),
    Column("notify_via", String(16), nullable=False, server_default="auto"),
    Column("username", String(64), nullable=True, index=True),
    Index(None, "role"),
    # F11: a contact's phone and responsible manager (a staff person).
    Column("phone", String(64), nullable=True, index=True),
    _person_fk("manager_id"),
)

# `position` keeps the declared order: the first address is the one we write to.
person_emails = Table(
    "person_emails", metadata,
    Column("address", String(320), primary_key=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("position", Integer, nullable=False, server_default=text("0")),
)

tickets = Table(
    "tickets", metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("subject", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    _time("created_at", nullable=False),
    _time("updated_at", nullable=False),
    Column("channel", String(32), nullable=False),
    Column("type", String(32), nullable=False),
    Column("priority", String(32), nullable=False),
    _person_fk("requester_id"),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=True, index=True),
    _person_fk("responsible_id"),
    _person_fk("creator_id"),
    Column("cc", JsonText, nullable=False, server_default="[]"),
    _time("waiting_until"),
    _time("planned_resolution"),
    Column("time_spent_minutes", Integer, nullable=False, server_default=text("0")),
    Column("source_ref", String(998), nullable=True),
    _ticket_fk("linked_to", nullable=True),
    _time("first_response_at"),
    _time("resolved_at"),
    _time("closed_at"),
    Column("sla_policy", String(64), nullable=True),
    _time("first_response_due"),
    _time("resolution_due"),
    _time("next_response_due"),
    # engine/fields.py: a ticket of an internal type, never shown to clients.
    Column("internal", Boolean, nullable=False, server_default=text("false")),
    Column("desk", String(64), nullable=True, index=True),  # engine/desks.py
    Index(None, "responsible_id"),
    Index(None, "requester_id"),
    Index(None, "waiting_until"),
    Index(None, "first_response_due"),
    Index(None, "resolution_due"),
    Index(None, "next_response_due"),
    # F11: what the ticket is about, from the directories.
    Column("contract_id", Integer, ForeignKey("contracts.id"), nullable=True, index=True),
    Column("object_id", Integer, ForeignKey("service_objects.id"), nullable=True, index=True),
    Column("equipment_id", Integer, ForeignKey("equipment.id"), nullable=True, index=True),
)

ticket_observers = Table(
    "ticket_observers", metadata,
    _ticket_fk(),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    PrimaryKeyConstraint("ticket", "person_id"),
)

ticket_tags = Table(
    "ticket_tags", metadata,
    _ticket_fk(),
    Column("tag", String(100), nullable=False, index=True),
    PrimaryKeyConstraint("ticket", "tag"),
)

comments = Table(
    "comments", metadata,
    Column("id", Integer, primary_key=True),
    _ticket_fk(),
    _person_fk("author_id"),
    Column("body", Text, nullable=False),
    Column("public", Boolean, nullable=False),
    Column("channel", String(32), nullable=False),
    _time("created_at", nullable=False),
    Column("source_ref", String(998), nullable=True),
    Index(None, "ticket", "id"),
)

attachments = Table(
    "attachments", metadata,
    Column("id", Integer, primary_key=True),
    Column("comment_id", Integer, ForeignKey("comments.id"), nullable=False, index=True),
    _ticket_fk(),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    # content_type: detected from the bytes; declared_type: what the sender said.
    Column("declared_type", String(255), nullable=False, server_default=""),
    # Why the file was not kept (engine/files.py reasons); NULL: its bytes are in `blobs`.
    Column("refused", String(32), nullable=True),
    Index(None, "ticket"),
)

# File bytes, once per content (migration 0008). `data` holds them, or is NULL when the
# raw mail of `inbound_id` holds them: the record of what arrived is not copied a second
# time; reading the bytes parses that mail again (bot/files.py).
blobs = Table(
    "blobs", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=True),
    Column("inbound_id", Integer, ForeignKey("inbound.id"), nullable=True),
)

# A ticket's trail, and the desk's own records (contact registered, address suppressed,
# mail ignored) with no ticket (migration 0002).
events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True),
    _ticket_fk(nullable=True),
    Column("kind", String(32), nullable=False),
    _person_fk("actor"),
    _time("at", nullable=False),
    Column("channel", String(32), nullable=False),
    Column("payload", JsonText, nullable=False),
    Index(None, "ticket", "id"),
    Index(None, "at"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("channel", String(32), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("kind", String(64), nullable=False),
    _ticket_fk(nullable=True),
    _person_fk("person_id"),
    Column("language", String(16), nullable=False),
    Column("payload", JsonText, nullable=False),
    _time("created_at", nullable=False),
    _time("not_before"),
    _time("next_try"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    _time("lease_until"),
    _time("sent_at"),
    # Set when a delivery is given up; such rows are never claimed again.
    _time("failed_at"),
    Column("meta", JsonText, nullable=True),
    # The event whose withdrawal (`/undo`) cancels the row while it waits.
    Column("cause", Integer, nullable=True),
    Index(None, "channel", "sent_at", "next_try"),
    Index("ix_outbox_cause", "cause"),
)

message_refs = Table(
    "message_refs", metadata,
    Column("ref", String(998), primary_key=True),
    _ticket_fk(),
    Column("direction", String(3), nullable=False),  # 'in' | 'out'
    _time("created_at", nullable=False),
    Index(None, "ticket"),
)

inbound = Table(
    "inbound", metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("external_id", String(998), nullable=False),
    Column("mailbox", String(255), nullable=True),
    Column("uid", BigInteger, nullable=True),  # IMAP UIDs are unsigned 32-bit
    _time("received_at", nullable=False),
    Column("raw", LargeBinary, nullable=True),
    # 'pending' | 'done' | 'ignored' | 'quarantined'
    Column("status", String(16), nullable=False, server_default="pending"),
    _ticket_fk(nullable=True),
    Column("reason", Text, nullable=True),
    Column("rule", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _time("created_at", nullable=False),
    UniqueConstraint("channel", "external_id"),
    Index(None, "channel", "status", "id"),
)

mailbox_state = Table(
    "mailbox_state", metadata,
    Column("mailbox", String(255), primary_key=True),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False),
)

counters = Table(
    "counters", metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

suppressed_addresses = Table(
    "suppressed_addresses", metadata,
    Column("address", String(320), primary_key=True),
    Column("reason", Text, nullable=False),
    _time("at", nullable=False),
)

dialogs = Table(
    "dialogs", metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", BigInteger, nullable=False),  # Telegram ids exceed 32 bits
    _person_fk("author_id"),
    Column("first_ref", String(255), nullable=False),
    Column("last_ref", String(255), nullable=False),
    Column("text", Text, nullable=False),
    _time("started_at", nullable=False),
    _time("last_message_at", nullable=False),
    _time("answered_at"),
    _person_fk("answered_by"),
    Column("response_seconds", Integer, nullable=True),
    _ticket_fk(nullable=True),
    Column("status", String(16), nullable=False),
    Index(None, "chat_id", "author_id", "status"),
    Index(None, "started_at"),
)

sla_alerts = Table(
    "sla_alerts", metadata,
    Column("id", Integer, primary_key=True),
    _ticket_fk(),
    Column("kind", String(32), nullable=False),
    Column("target", String(64), nullable=False),
    _time("due_at", nullable=False),
    _time("sent_at", nullable=False),
    UniqueConstraint("ticket", "kind", "target", "due_at"),
)

ratings = Table(
    "ratings", metadata,
    Column("id", Integer, primary_key=True),
    _ticket_fk(),
    _time("resolution_at", nullable=False),
    _person_fk("person_id"),
    Column("score", Integer, nullable=False),
    _time("at", nullable=False),
    UniqueConstraint("ticket", "resolution_at"),
)

report_runs = Table(
    "report_runs", metadata,
    Column("kind", String(32), nullable=False),
    Column("period", String(32), nullable=False),
    _time("sent_at", nullable=False),
    PrimaryKeyConstraint("kind", "period"),
)

# ---------------------------------------------------------------- metrics and ratings
# (helper "metrics": engine/store/metrics_sql.py, engine/store/ratings_sql.py)

# F13: one survey per ticket resolution. `due_at` is when it goes out (resolution + delay);
# a reopen before then sets status 'cancelled' (and fails its outbox row). The
# (person_id, due_at) index answers the cooldown question "when was this person last asked".
rating_surveys = Table(
    "rating_surveys", metadata,
    Column("id", Integer, primary_key=True),
    _ticket_fk(),
    _time("resolution_at", nullable=False),
    _person_fk("person_id"),
    Column("outbox_key", String(255), nullable=False),
    _time("due_at", nullable=False),
    Column("status", String(16), nullable=False),  # 'pending' | 'cancelled'
    UniqueConstraint("ticket", "resolution_at"),
    Index(None, "person_id", "due_at"),
)

# F10: the monthly report selects tickets by these times as index ranges; without them
# every report scans the whole tickets table once per figure.
Index("ix_tickets_created_at", tickets.c.created_at)
Index("ix_tickets_resolved_at", tickets.c.resolved_at)
Index("ix_tickets_first_response_at", tickets.c.first_response_at)
Index("ix_ratings_at", ratings.c.at)
# "Still open at the month's end" reads the event log only for tickets changed since.
Index("ix_tickets_updated_at", tickets.c.updated_at)
# A ticket's status events alone (waiting stretches, the status at a month's end); with
# (ticket, id) only, PostgreSQL preferred a scan of the whole log.
Index("ix_events_ticket_kind_id", events.c.ticket, events.c.kind, events.c.id)

# ---------------------------------------------------------------- Telegram channel
# (part "telegram": bot/storage/telegram_sql.py)

# The first line upserts a whole batch of dialogs in one statement, keyed by the ref of
# the dialog's first message (`tg:<chat>:<message>`), so it never needs their ids back.
Index("uq_dialogs_first_ref", dialogs.c.first_ref, unique=True)

# Every message the first line saw in the support group: reply chains, edits and the
# author's follow-ups that `/ticket` takes along are read from here. `dialog_ref` is the
# dialog's `first_ref` (NULL for pleasantries and service chatter).
telegram_messages = Table(
    "telegram_messages", metadata,
    Column("chat_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    _person_fk("author_id"),
    Column("dialog_ref", String(255), nullable=True, index=True),
    Column("reply_to", BigInteger, nullable=True),
    Column("text", Text, nullable=False),
    _time("sent_at", nullable=False),  # Telegram's own date of the message
    _time("edited_at"),
    PrimaryKeyConstraint("chat_id", "message_id"),
)

# One status card per ticket and chat, edited on every change. `text` is the card as last
# sent, so a change that does not alter the card costs no Bot API call.
telegram_cards = Table(
    "telegram_cards", metadata,
    _ticket_fk(),
    Column("chat_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    _time("updated_at", nullable=False),
    PrimaryKeyConstraint("ticket", "chat_id"),
)

# Private chats: Telegram answers 403 to a user who never started the bot (or blocked it);
# `blocked_at` stops further attempts until the person writes to the bot again.
telegram_users = Table(
    "telegram_users", metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("username", String(64), nullable=True, index=True),
    _time("started_at"),
    _time("blocked_at"),
)


# ---------------------------------------------------------------- full-text search
# (helper "search": engine/store/search_sql.py, migration 0007)

# F17: one row per comment (`comment_id`) and one per ticket subject (`comment_id` NULL),
# holding the text's stems (engine/stemming.py), so both backends match the same word forms.
# Each backend indexes `terms` its own way, outside this metadata: an FTS5 table kept in
# step by triggers on SQLite, a stored tsvector column `search_fts_vector` with a GIN index on
# PostgreSQL.
search_docs = Table(
    "search_docs", metadata,
    Column("id", Integer, primary_key=True),
    _ticket_fk(),
    Column("comment_id", Integer, ForeignKey("comments.id"), nullable=True, unique=True),
    Column("terms", Text, nullable=False),
    # What a client may find: subjects and public comments, never an internal note.
    Column("public", Boolean, nullable=False),
    Index(None, "ticket"),
)


# ---------------------------------------------------------------- every text cleaned
# Last, so every table above is covered: each String and Text column binds through
# engine/store/clean.py (no NUL, no lone surrogate, never longer than the column).

def _clean_every_text_column() -> None:
    for table in metadata.tables.values():
        for column in table.columns:
            if type(column.type) is String:
                column.type = CleanString(column.type.length)
            elif type(column.type) is Text:
                column.type = CleanText()


_clean_every_text_column()


# --- F11 directories: contracts, service objects, equipment (companies and contacts above) --

contracts = Table(
    "contracts", metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(100), nullable=False, unique=True),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False, index=True),
    Column("starts", Date, nullable=True),
    Column("ends", Date, nullable=True),
    Column("sla_policy", String(64), nullable=True),
    _person_fk("manager_id"),
)

# A site or an address of a company; its name is unique within the company.
service_objects = Table(
    "service_objects", metadata,
    Column("id", Integer, primary_key=True),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("address", Text, nullable=False, server_default=""),
    _person_fk("manager_id"),
    UniqueConstraint("company_id", "name"),
)

equipment = Table(
    "equipment", metadata,
    Column("id", Integer, primary_key=True),
    Column("serial", String(200), nullable=False, unique=True),
    Column("model", String(200), nullable=False, server_default=""),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False, index=True),
    Column("object_id", Integer, ForeignKey("service_objects.id"), nullable=True, index=True),
    _person_fk("manager_id"),
)
