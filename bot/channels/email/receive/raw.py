"""The raw mail as it arrived: its intake id and its safe keeping, before any parsing.

Intake must answer 250 (SMTP) or set \\Seen (IMAP) only after the bytes are committed, and
must do that fast, so this reads only the header block, never the body.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Sequence

from engine.inbox import Inbox, RawMail

log = logging.getLogger("ticketbot.email.intake")

CHANNEL = "email"
# Our own trace header, prepended at intake: the envelope recipients (SMTP/LMTP), which may
# carry a `support+token@` address that no header shows (Bcc, aliases).
ENVELOPE_HEADER = "X-Ticketbot-Envelope-To"
# Prepended when an IMAP mail over the size limit was kept without its big parts.
TRUNCATED_HEADER = "X-Ticketbot-Truncated"

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:((?:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*))",
                         re.IGNORECASE | re.MULTILINE)
_ID_TOKEN = re.compile(rb"<([^<>\s]+)>")
_BARE_TOKEN = re.compile(rb"([^<>\s]+@[^<>\s]+)")


def header_block(raw: bytes) -> bytes:
    end = _HEADER_END.search(raw)
    return raw if end is None else raw[:end.start()]


# The columns that hold refs (inbound.external_id, message_refs.ref, source_ref) are this
# long; a longer Message-ID (only a folded header can carry one) stands as its digest,
# the same wherever it is read, so a reply to such a mail still finds it.
MAX_REF = 998
LONG_REF_DOMAIN = "long-id.invalid"


def normalise_ref(value: str) -> str:
    """` <ABC@Host> ` or `ABC@Host` -> `<ABC@Host>`: kept as written, because mail clients
    thread by the exact id; lookups compare case-insensitively (`message_refs` keys)."""
    inner = value.strip().strip("<>").strip()
    if len(inner) + 2 > MAX_REF:
        digest = hashlib.sha256(inner.lower().encode("utf-8", "surrogateescape")).hexdigest()
        return f"<sha256.{digest}@{LONG_REF_DOMAIN}>"
    return f"<{inner}>" if inner else ""


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID (as written, in angle brackets) from the header block, or None if there is none usable."""
    m = _MESSAGE_ID.search(header_block(raw))
    if m is None:
        return None
    value = m.group(1)
    token = _ID_TOKEN.search(value) or _BARE_TOKEN.search(value)
    if token is None:
        return None
    return normalise_ref(token.group(1).decode("ascii", "replace"))


SYNTHETIC_DOMAIN = "intake.invalid"


def external_id(raw: bytes) -> str:
    """What makes a mail the same mail twice: its Message-ID, else a digest of its bytes."""
    return message_id_of(raw) or \
        f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_DOMAIN}>"


def is_real_ref(ref: str | None) -> bool:
    """A Message-ID some mail really carried (not one we made up for a mail without)."""
    return ref is not None and ref.startswith("<") and \
        not ref.endswith(f"@{SYNTHETIC_DOMAIN}>")


def prepend_header(raw: bytes, name: str, value: str) -> bytes:
    """A trace header on top, as an MTA adds Received:; the rest stays byte-exact."""
    clean = value.replace("\r", " ").replace("\n", " ")
    newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    return f"{name}: {clean}".encode("utf-8", "replace") + newline + raw


async def keep(store: Inbox, raw: bytes, received_at: dt.datetime, *,
               envelope: Sequence[str] = (), mailbox: str | None = None,
               uid: int | None = None) -> int | None:
    """Commit the raw bytes; the new inbound row id, or None if this mail was seen before.
    The intake id comes from the bytes as sent, before our trace header goes on top."""
    key = external_id(raw)
    if envelope:
        raw = prepend_header(raw, ENVELOPE_HEADER, ", ".join(envelope))
    new = await store.store(CHANNEL, key, raw, received_at, mailbox, uid)
    if new is None:
        return await keep_if_different(store, RawMail(key, raw, received_at, mailbox, uid))
    return new


# The start of an inbound row's reason when its mail reused another mail's Message-ID.
COLLISION = "Message-ID collision"
_DIGESTED = ("from", "date", "subject")


def content_digest(raw: bytes) -> str:
    """What makes two mails with one Message-ID the same mail: who, when, what about and
    the body; not the trace headers that differ between two routes of one mail (our
    envelope header, Received:, Delivered-To:)."""
    head = header_block(raw)
    fields = [m.group(2).strip() for m in _HEADER_LINE.finditer(head)
              if m.group(1).decode("ascii").lower() in _DIGESTED]
    body = raw[len(head):].replace(b"\r\n", b"\n").strip()
    return hashlib.sha256(b"\n".join(sorted(fields)) + b"\n\n" + body).hexdigest()


async def keep_if_different(store: Inbox, mail: RawMail) -> int | None:
    """A mail whose Message-ID is stored already: None when it is the same mail again; a
    different mail reusing the id is kept under an id of its own, its row's reason naming
    the collision (staff see it in the export and the log)."""
    existing = await store.find(CHANNEL, mail.external_id)
    if existing is None or existing.raw is None:
        return None
    digest = content_digest(mail.raw)
    if content_digest(existing.raw) == digest:
        return None
    key = f"<collision.{digest[:40]}@{SYNTHETIC_DOMAIN}>"
    new = await store.store(CHANNEL, key, mail.raw, mail.received_at, mail.mailbox, mail.uid)
    if new is not None:
        reason = (f"{COLLISION}: {mail.external_id} also names inbound {existing.id}, "
                  "a different mail")
        await store.note(new, reason)
        log.warning("inbound %s: %s", new, reason)
    return new


_TRACE = (ENVELOPE_HEADER.lower(), TRUNCATED_HEADER.lower(), "delivered-to", "x-original-to")
_HEADER_LINE = re.compile(rb"^([A-Za-z0-9-]+)[ \t]*:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)",
                          re.MULTILINE)


def trace_headers(raw: bytes) -> dict[str, list[str]]:
    """Our own trace headers and the MTA's Delivered-To/X-Original-To (which the parser does
    not hand on), lower-case names, in order."""
    found: dict[str, list[str]] = {}
    for m in _HEADER_LINE.finditer(header_block(raw)):
        name = m.group(1).decode("ascii").lower()
        if name in _TRACE:
            value = re.sub(rb"\r?\n[ \t]+", b" ", m.group(2)).decode("utf-8", "replace").strip()
            found.setdefault(name, []).append(value)
    return found


def envelope_of(raw: bytes) -> tuple[str, ...]:
    """Recipient addresses the envelope or the MTA recorded (lower-case)."""
    trace = trace_headers(raw)
    values = [*trace.get(ENVELOPE_HEADER.lower(), ()), *trace.get("delivered-to", ()),
              *trace.get("x-original-to", ())]
    found = [a.strip().strip("<>").lower() for v in values for a in v.split(",")]
    return tuple(dict.fromkeys(a for a in found if "@" in a))


def truncated_size(raw: bytes) -> int | None:
    values = trace_headers(raw).get(TRUNCATED_HEADER.lower())
    return int(values[0]) if values and values[0].isdigit() else None
