"""Signed tokens in our Message-IDs and Reply-To addresses.

A From header is forgeable, so a reply proves where it belongs (and who it was sent to)
only through something we signed: `<tb.{outbox id}.{ticket}-{person}-{hour}-{sig}@domain>`
in the Message-ID of every mail we send and `support+{ticket}-{person}-{sig}@domain` in its
Reply-To. `hour` (hours since 1970, when the mail was queued) lets a Message-ID token
expire: it proves a specialist's rights only for `email.staff_link_days`. Ids from before
it was added (`...-{person}-{sig}@`) still read, with no time, so they prove no rights. The signature is an HMAC-SHA256 with `Runtime.secret`, cut to 80 bits (plenty
against guessing through a mail server), lower-case hex because refs are kept lower-case.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

SIG_HEX = 20
_SIG = "([0-9a-f]{" + str(SIG_HEX) + "})"
_MESSAGE_ID = re.compile(r"^<?tb\.(\d{1,18})\.(\d{1,12})-(\d{1,12})-(?:(\d{1,9})-)?" + _SIG
                         + r"@([^>]+)>?$")
_HOUR = 3600
_PLUS = re.compile(r"^(\d{1,12})-(\d{1,12})-" + _SIG + "$")


@dataclass(frozen=True)
class MailToken:
    """What a verified token says: the ticket and the person the mail was sent to."""

    ticket: int | None
    person: int | None
    outbox_id: int | None = None
    issued: dt.datetime | None = None  # Message-IDs only; None: an id from before times

    def fresh(self, now: dt.datetime, lifetime: dt.timedelta) -> bool:
        """Young enough to prove rights (a token of unknown age never is)."""
        return self.issued is not None and now - self.issued <= lifetime


def _sign(secret: bytes, *parts: object) -> str:
    msg = "|".join(str(p) for p in parts).encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:SIG_HEX]


def _body(ticket: int | None, person: int | None) -> str:
    return f"{ticket or 0}-{person or 0}"


def message_id(secret: bytes, domain: str, outbox_id: int, ticket: int | None,
               person: int | None, issued: dt.datetime | None = None) -> str:
    """The Message-ID of one outbox row: the same row (and time) always gets the same id."""
    if issued is None:
        sig = _sign(secret, "mid", outbox_id, ticket or 0, person or 0)
        return f"<tb.{outbox_id}.{_body(ticket, person)}-{sig}@{domain.lower()}>"
    aware = issued if issued.tzinfo is not None else issued.replace(tzinfo=dt.UTC)
    hour = int(aware.timestamp()) // _HOUR
    sig = _sign(secret, "mid", outbox_id, ticket or 0, person or 0, hour)
    return f"<tb.{outbox_id}.{_body(ticket, person)}-{hour}-{sig}@{domain.lower()}>"


def reply_address(secret: bytes, address: str, ticket: int | None, person: int | None) -> str:
    """`support+token@domain`: a reply to it threads even when every header is lost."""
    local, _, domain = address.partition("@")
    sig = _sign(secret, "addr", ticket or 0, person or 0)
    return f"{local}+{_body(ticket, person)}-{sig}@{domain}"


def _none_if_zero(value: str) -> int | None:
    return int(value) or None


def read_message_id(secret: bytes, ref: str, domains: frozenset[str]) -> MailToken | None:
    """The token of one of our own Message-IDs, or None if it is not ours or is forged."""
    m = _MESSAGE_ID.match(ref.strip().lower())
    if m is None or m.group(6) not in domains:
        return None
    outbox_id, ticket, person, hour, sig = m.group(1, 2, 3, 4, 5)
    signed = (outbox_id, ticket, person) if hour is None else (outbox_id, ticket, person, hour)
    if not hmac.compare_digest(sig, _sign(secret, "mid", *signed)):
        return None
    issued = None if hour is None else dt.datetime.fromtimestamp(int(hour) * _HOUR, dt.UTC)
    return MailToken(_none_if_zero(ticket), _none_if_zero(person), int(outbox_id), issued)


def read_address(secret: bytes, address: str, own_address: str) -> MailToken | None:
    """The token of a `support+token@domain` address, or None."""
    local, _, domain = address.strip().lower().partition("@")
    own_local, _, own_domain = own_address.lower().partition("@")
    base, plus, tag = local.partition("+")
    if not plus or base != own_local or domain != own_domain:
        return None
    m = _PLUS.match(tag)
    if m is None:
        return None
    ticket, person, sig = m.group(1, 2, 3)
    if not hmac.compare_digest(sig, _sign(secret, "addr", ticket, person)):
        return None
    return MailToken(_none_if_zero(ticket), _none_if_zero(person))
