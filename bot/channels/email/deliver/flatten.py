"""A built mail as the bytes aiosmtplib's `send_message` hands the relay, made for less.

`send_message` copies the message, deletes its Bcc headers and runs the library's generator
(policy SMTP, or SMTPUTF8 for a non-ASCII address; cte_type 7bit to a relay without
8BITMIME): a quarter of what sending an ack cost. Our mails are one text part whose headers
are mostly short ASCII, so `mail_bytes` writes those headers and the body as the generator
would, asks the policy only for the others, and leaves anything else to the library itself
(tests/test_email_flatten.py holds the two to the same bytes).
"""

from __future__ import annotations

import email.policy
import functools
import re
from email.message import EmailMessage
from email.policy import EmailPolicy, Policy
from typing import Any

from aiosmtplib.email import flatten_message

_NEWLINE = re.compile(r"\r\n|\r|\n")  # what the generator turns into the policy's linesep
_HIDDEN = ("bcc", "resent-bcc")        # the headers send_message never transmits
# The header objects `constant` made (its cache keeps them alive: an id stays theirs), and
# their folded bytes per sending policy: the same for every mail.
_CONSTANT: set[int] = set()
_FOLDED: dict[tuple[int, int], bytes] = {}


@functools.cache
def constant(policy: Policy, name: str, value: str) -> Any:
    """The header object the library makes of `name: value`, parsed once per process (header
    objects are immutable); its folded form is then also made once per sending policy."""
    header = policy.header_factory(name, value)  # type: ignore[attr-defined]
    _CONSTANT.add(id(header))
    return header


@functools.cache
def policy_for(utf8: bool, cte_type: str) -> EmailPolicy[EmailMessage]:
    """The policy `send_message` flattens with."""
    policy = email.policy.SMTPUTF8 if utf8 else email.policy.SMTP
    return policy if cte_type == "8bit" else policy.clone(cte_type=cte_type)


def mail_bytes(message: EmailMessage, *, utf8: bool = False, cte_type: str = "8bit") -> bytes:
    """`aiosmtplib.email.flatten_message(message, utf8=utf8, cte_type=cte_type)`."""
    payload = message._payload  # type: ignore[attr-defined]
    if not _plain(message, payload, cte_type):
        return flatten_message(message, utf8=utf8, cte_type=cte_type)
    policy = policy_for(utf8, cte_type)
    nl = policy.linesep
    head = [_header(policy, name, value) for name, value in message.raw_items()]
    head.append(nl.encode("ascii"))
    # The generator's BytesGenerator._handle_text: the payload's line ends made the policy's.
    head.append(_NEWLINE.sub(nl, payload).encode("ascii", "surrogateescape"))
    return b"".join(head)


def _plain(message: EmailMessage, payload: object, cte_type: str) -> bool:
    """One text part the generator writes out as it is: its payload ASCII, or 8bit text
    (kept as surrogates) to a relay that takes 8bit; no header that must be left out."""
    if not isinstance(payload, str) or message.get_content_maintype() != "text":
        return False
    if any(name.lower() in _HIDDEN for name in message):
        return False
    return payload.isascii() or cte_type == "8bit" and _only_surrogates(payload)


def _only_surrogates(text: str) -> bool:
    """Every non-ASCII character a byte the parser kept as a surrogate (an 8bit body)."""
    try:
        text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def _header(policy: EmailPolicy[EmailMessage], name: str, value: Any) -> bytes:
    if type(value) is str and value.isascii() and value.isprintable() \
            and len(name) + len(value) + 2 <= (policy.max_line_length or 0):
        # policy._fold of a value it does not refold: `name: value` and the linesep.
        return f"{name}: {value}{policy.linesep}".encode("ascii")
    if id(value) not in _CONSTANT:
        return bytes(policy.fold_binary(name, value))
    key = (id(policy), id(value))
    found = _FOLDED.get(key)
    if found is None:
        found = _FOLDED[key] = bytes(policy.fold_binary(name, value))
    return found
