"""The Subject header of our mail, folded by us so that it round-trips exactly.

The standard library's folder splits a long non-ASCII subject into encoded words and puts
the space between two words outside them, where RFC 2047 decoders drop it ("принтер на"
comes back as "принтерна"). Here every space travels inside an encoded word, each word
holds whole characters (never half of a UTF-8 sequence) and stays under the 75-character
limit, and each line stays under 78 characters.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage

# 39 bytes -> 52 base64 characters -> a 64-character encoded word; "Subject: " + 64 < 78.
_CHUNK = 39
_SHORT = 78 - len("Subject: ")  # a line the policy never refolds


def _chunks(text: str) -> list[str]:
    parts, current, size = [], "", 0
    for char in text:
        n = len(char.encode("utf-8"))
        if size + n > _CHUNK:
            parts.append(current)
            current, size = "", 0
        current += char
        size += n
    return [*parts, current] if current else parts


def folded(subject: str) -> str:
    """The header value, already folded: encoded words on continuation lines."""
    words = [f"=?utf-8?b?{base64.b64encode(c.encode('utf-8')).decode('ascii')}?="
             for c in _chunks(subject)]
    return "\n ".join(words)


def set_subject(message: EmailMessage, subject: str) -> None:
    """Plain ASCII goes in as it is; anything else as our own encoded words."""
    if subject.isascii() and subject.isprintable() and len(subject) <= _SHORT:
        # Written as it is, as the library would after parsing it (which costs more than
        # the rest of the header block).
        message.set_raw("Subject", subject)
    elif subject.isascii():
        message["Subject"] = subject
    else:
        # set_raw keeps our folding: the policy refolds only lines over its limit.
        message.set_raw("Subject", folded(subject))
