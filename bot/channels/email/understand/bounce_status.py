"""Whether a bounce says an address does not exist (suppress it) or something that passes
(mailbox full 5.2.2, policy 5.7.x, a temporary 4.x.x: keep mailing it).

Per recipient from the DSN part (Status, then the codes in Diagnostic-Code); without a DSN,
the codes in the report text; without any specific code, the wording of the non-delivery
report. Only a 5.1.x about the recipient (not 5.1.7/5.1.8, which are about our sender
address) or a "no such user" text is permanent.
"""

from __future__ import annotations

import re

from bot.channels.email.understand.parse import ParsedMail

_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_RECIPIENT = re.compile(r"^(?:final|original)-recipient:[^;\n]*;\s*<?([^>\s]+)>?", re.I | re.M)
_STATUS = re.compile(r"^status:\s*([245]\.\d{1,3}\.\d{1,3})", re.I | re.M)
_DIAGNOSTIC = re.compile(r"^diagnostic-code:(.*(?:\n[ \t]+.*)*)", re.I | re.M)
_SENDER_ADDRESS = frozenset({"5.1.7", "5.1.8"})
# Where an MTA starts its copy of the returned message: nothing below it is the report.
_COPY = re.compile(r"^[ \t>]*(?:-{2,}.*(?:original message|copy of the message|returned "
                   r"message|message headers)|original message headers|content-type: "
                   r"message/rfc822|received: )", re.I | re.M)
# "No such user" as non-delivery reports word it, in the languages we see.
_NO_SUCH_USER = re.compile(
    r"user unknown|unknown user|no such (?:user|mailbox|recipient|account|address)"
    r"|(?:mailbox|recipient|user|address|account) (?:not found|unknown|does not exist"
    r"|doesn't exist|not exist)|(?:does not|doesn't) exist|unknown recipient"
    r"|invalid (?:recipient|mailbox)|recipient address rejected|no mailbox here"
    r"|couldn't be found|could not be found|unrouteable address|not a valid recipient"
    r"|пользователь не найден|нет такого (?:пользователя|адреса|ящика)|адресат не найден"
    r"|получатель не найден|не существует|несуществующ|неизвестный (?:адресат|получатель)"
    r"|ящик не найден|empfänger unbekannt|unbekannt|existiert nicht|destinataire inconnu"
    r"|n'existe pas|no existe|sconosciuto|non esiste",
    re.I,
)


def _specific(codes: list[str]) -> list[str]:
    """`5.0.0` and `4.0.0` say only the class; the detail decides."""
    return [c for c in codes if not c.endswith(".0.0")]


def _permanent(codes: list[str], text: str) -> bool:
    specific = _specific(codes)
    if specific:
        return any(c.startswith("5.1.") and c not in _SENDER_ADDRESS for c in specific)
    if any(c.startswith("4.") for c in codes):
        return False
    return _NO_SUCH_USER.search(text) is not None


def _codes(text: str) -> list[str]:
    return [".".join(m.groups()) for m in _CODE.finditer(text)]


def _dsn_blocks(mail: ParsedMail) -> dict[str, bool]:
    """Recipient -> permanent, from every per-recipient block of the DSN parts."""
    found: dict[str, bool] = {}
    for part in mail.attachments:
        if part.content_type not in _DSN_TYPES:
            continue
        text = part.data.decode("utf-8", "replace").replace("\r\n", "\n")
        for block in re.split(r"\n\s*\n", text):
            recipient = _RECIPIENT.search(block)
            if recipient is None:
                continue
            status = _STATUS.search(block)
            diagnostic = " ".join(m.group(1) for m in _DIAGNOSTIC.finditer(block))
            codes = ([status.group(1)] if status else []) + _codes(diagnostic)
            address = recipient.group(1).lower()
            found[address] = found.get(address, False) or _permanent(codes, diagnostic)
    return found


def report_text(mail: ParsedMail) -> str:
    """The non-delivery report itself, without the copy of our mail below it."""
    marker = _COPY.search(mail.text)
    return mail.text[:marker.start()] if marker else mail.text


def permanent_failures(mail: ParsedMail, recipients: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `recipients` the bounce says do not exist."""
    by_dsn = _dsn_blocks(mail)
    text = report_text(mail)
    fallback = _permanent(_codes(text), text)
    return tuple(a for a in recipients if by_dsn.get(a.lower(), fallback))
