"""Weak signs of machine mail, each from one part of the mail: the sender, the subject, the
body, the structure. A person can show any one of them (a postmaster asks for help, a
subject starts "Undeliverable:", someone pastes a 550 line or forwards a mail as an
attachment), so `noise.classify` drops a mail on them only when two different parts agree.

Each sign says which kind of machine mail it points to; the structure sign (the original
attached) points to none, it only confirms what another part says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from bot.channels.email.understand.parse import ParsedMail

Source = Literal["sender", "subject", "body", "structure"]
SignKind = Literal["bounce", "auto_reply", "list", "feedback_report", "notification",
                   "challenge"]


@dataclass(frozen=True, slots=True)
class Sign:
    source: Source
    kind: SignKind | None
    reason: str


# ---------------------------------------------------------------- sender

# RFC 5321 makes postmaster a mailbox a person reads, so it is only a sign, never proof.
_DAEMON_LOCAL = re.compile(r"^(?:post[-_]?master|mail[-_]?admin|mailer|mail[-_]?sys(?:tem)?"
                           r"|sysadmin|mail[-_]?delivery|delivery|bounces?|microsoftexchange"
                           r"[0-9a-f]{32})$")
_NOREPLY_LOCAL = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|notifications?|alerts?)"
                            r"(?:[-_.+].*)?$")
# Mailman, Sympa, Majordomo, ezmlm: <list>-admin@, -owner@, -request@, -bounces@.
_LIST_LOCAL = re.compile(r"^.+-(?:admin|owner|request|bounces)$")
_ABUSE_LOCAL = re.compile(r"^(?:abuse|spam[-_]?reports?|complaints?|fbl)$")
_DAEMON_NAME = re.compile(r"^\s*(?:mail delivery (?:system|subsystem)|mail administrator"
                          r"|mail ?system|system administrator|microsoft outlook|postmaster"
                          r"|mail delivery|mailer)\s*$", re.I)


def sender_sign(mail: ParsedMail) -> Sign | None:
    address = (mail.from_addr or "").lower()
    local = address.partition("@")[0]
    if _DAEMON_LOCAL.match(local):
        return Sign("sender", "bounce", f"sender {address}")
    if _LIST_LOCAL.match(local):
        return Sign("sender", "list", f"list manager sender {address}")
    if _ABUSE_LOCAL.match(local):
        return Sign("sender", "feedback_report", f"abuse desk sender {address}")
    if _NOREPLY_LOCAL.match(local):
        return Sign("sender", "notification", f"no-reply sender {address}")
    if mail.from_name and _DAEMON_NAME.match(mail.from_name):
        return Sign("sender", "bounce", f"sender name {mail.from_name!r}")
    return None


# ---------------------------------------------------------------- subject

# Non-delivery subjects, including Exchange NDRs that carry no Auto-Submitted header.
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:"
    r"undeliverable|undelivered mail returned to sender|undelivered mail|undelivered message|"
    r"delivery status notification|delivery failure|delivery has failed|"  # Gmail, Notes
    r"mail delivery failed|message delivery failure|failure notice|message not delivered|"
    r"returned mail|mail system error|delivery notification|"  # Sendmail, old MTAs
    r"warning: could not send message|non-delivery|nondeliverable|"
    r"недоставленное сообщение|не доставлено|сообщение не доставлено|"  # Exchange RU, Yandex
    r"уведомление о состоянии доставки|ошибка доставки|"
    r"non remis|unzustellbar|no se puede entregar|non recapitabile|"  # Exchange FR DE ES IT
    r"onbestelbaar|niedostarczalne|nie można dostarczyć"  # Exchange NL PL
    r")\b"
    # Japanese and Chinese carriers and hosts: no word boundary between CJK words.
    r"|^\s*(?:配信エラー|配送エラー|メール送信エラー|送信エラー|宛先不明|配信不能|退信|系统退信"
    r"|邮件退回|전송 실패|반송)",
    re.IGNORECASE,
)
# Vacation/out-of-office subjects (Exchange, Gmail, Yandex, Mail.ru), and Lotus Notes'
# "AUTO: Name is out of the office (returning ...)".
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?reply|auto[ -]?response|autoreply|out of (?:the )?office"
    r"(?: autoreply)?|автоматический ответ|автоответ|abwesenheitsnotiz|automatische antwort"
    r"|réponse automatique|respuesta automática|risposta automatica|automatisch antwoord"
    r"|odpowiedź automatyczna|auto)\s*:"
    r"|\bis out of (?:the )?office\b",
    re.IGNORECASE,
)
_COMPLAINT_SUBJECT = re.compile(r"complaint about message from|^\s*abuse report\b"
                                r"|^\s*spam complaint\b", re.I)
_LIST_SUBJECT = re.compile(r"awaits moderator approval|^\s*welcome to the .{1,80} mailing list"
                           r"|^\s*results of your email commands|^\s*confirm subscription"
                           r"|^\s*your message to .{1,80} (?:awaits|is being held)", re.I)
# Challenge-response systems (Boxbe, Spam Arrest, TMDA, Bluebottle, Mailwasher, RU hosts);
# a person may well write "Confirm your e-mail change", hence only a sign.
_CHALLENGE_SUBJECT = re.compile(
    r"^\s*(?:please confirm your (?:message|e-?mail)|confirm your (?:message|e-?mail)"
    r"|sender verification|verify your e-?mail to deliver|your (?:message|e-?mail) is pending"
    r"|request to send (?:an )?e-?mail to|подтвердите отправку|подтверждение отправки"
    r"|подтвердите,? что вы не робот)",
    re.IGNORECASE,
)
_NOTIFICATION_SUBJECT = re.compile(r"^\s*(?:aws notification message|amazon ses"
                                   r"|notification)\s*$", re.I)
_SUBJECTS: tuple[tuple[re.Pattern[str], SignKind, str], ...] = (
    (_BOUNCE_SUBJECT, "bounce", "non-delivery subject"),
    (_AUTO_REPLY_SUBJECT, "auto_reply", "auto-reply subject"),
    (_COMPLAINT_SUBJECT, "feedback_report", "complaint subject"),
    (_LIST_SUBJECT, "list", "list manager subject"),
    (_NOTIFICATION_SUBJECT, "notification", "notification subject"),
    (_CHALLENGE_SUBJECT, "challenge", "challenge subject"),
)


def subject_sign(mail: ParsedMail) -> Sign | None:
    for pattern, kind, what in _SUBJECTS:
        if pattern.search(mail.subject):
            return Sign("subject", kind, f"{what}: {mail.subject[:80]}")
    return None


# ---------------------------------------------------------------- body

# Lines that open or fill reports of MTAs; anchored at a line start, because a person who
# mentions one mid-sentence is not a report (and a person who quotes one is one sign only).
_BOUNCE_BODY = re.compile(
    r"^[ \t>]*(?:"
    r"(?:hi\. )?this is the qmail-send program"  # qmail
    r"|this message was created automatically by mail delivery software"  # Exim
    r"|-*\s*the following addresses had permanent fatal errors"  # Sendmail 8
    r"|this is the mail system at host"  # Postfix
    r"|i'm sorry to have to inform you that your message could not"  # Postfix
    r"|your message did not reach some or all of the intended recipients"  # Exchange 2003
    r"|delivery to the following recipients? failed"  # Exchange, Notes
    r"|delivery has failed to these recipients"  # Exchange 2010+
    r"|(?:your message )?could not be delivered to"  # many small MTAs, carriers
    r"|your message to \S+ (?:was|has been) (?:rejected|returned|blocked)"
    r"|(?:remote server returned ')?[45]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\b|\S)"  # SMTP reply
    r")"
    r"|(?:配信できませんでした|届きませんでした|送信できませんでした|見つかりません|未能送达"
    r"|无法投递|не может быть доставлено|не удалось доставить)",
    re.IGNORECASE | re.MULTILINE,
)
_AUTO_REPLY_BODY = re.compile(
    r"\b(?:out of (?:the )?office|on (?:annual )?(?:leave|vacation|holiday)"
    r"|limited access to (?:e-?mail|my e-?mail)|will (?:not )?(?:be )?(?:back|return)"
    r"|nicht im büro|abwesend|absent(?:e)? du bureau|в отпуске|отсутствую|не в офисе)",
    re.IGNORECASE,
)
_COMPLAINT_BODY = re.compile(r"^[ \t]*this is an? (?:e-?mail )?abuse report"
                             r"|^[ \t]*a recipient of our service marked it as spam",
                             re.IGNORECASE | re.MULTILINE)
_LIST_BODY = re.compile(r"held until the list moderator|^[ \t]*welcome to the \S+ mailing list"
                        r"|^[ \t]*the results of your email command",
                        re.IGNORECASE | re.MULTILINE)
_CHALLENGE_BODY = re.compile(
    r"^[ \t]*(?:to deliver your (?:message|e-?mail)|(?:please )?(?:click|follow|open) the link"
    r" (?:below )?to (?:confirm|verify|deliver)|i (?:use|am using) a (?:spam|challenge)"
    r"|чтобы (?:ваше )?(?:письмо|сообщение) было доставлено|подтвердите,? что вы не робот)",
    re.IGNORECASE | re.MULTILINE)
_BODY_HEAD = 2000  # a report says what it is near the top


def _json_object(text: str) -> bool:
    """The whole body is one JSON object: what cloud services post, not what people write."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        return False
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def body_sign(mail: ParsedMail) -> Sign | None:
    head = mail.text[:_BODY_HEAD]
    if _BOUNCE_BODY.search(head):
        return Sign("body", "bounce", "non-delivery report text")
    if _COMPLAINT_BODY.search(head):
        return Sign("body", "feedback_report", "abuse report text")
    if _LIST_BODY.search(head):
        return Sign("body", "list", "list manager text")
    if _CHALLENGE_BODY.search(head):
        return Sign("body", "challenge", "challenge text")
    if _AUTO_REPLY_BODY.search(head):
        return Sign("body", "auto_reply", "out-of-office text")
    if len(mail.text) < 64 * 1024 and _json_object(mail.text):
        return Sign("body", "notification", "JSON body")
    return None


# ---------------------------------------------------------------- structure

_ORIGINAL_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers",
                   "message/rfc822-headers", "message/global-headers")


def structure_sign(mail: ParsedMail) -> Sign | None:
    """Multipart/mixed with a whole message or its headers attached: how MTAs without a DSN
    part and abuse desks return the original (and how a person forwards one)."""
    ctype = (mail.headers.get("content-type") or "").strip().lower()
    if ctype.startswith("multipart/") and any(a.content_type in _ORIGINAL_TYPES
                                              for a in mail.attachments):
        return Sign("structure", None, "the original attached")
    return None


def signs(mail: ParsedMail) -> list[Sign]:
    found = (sender_sign(mail), subject_sign(mail), body_sign(mail), structure_sign(mail))
    return [s for s in found if s is not None]
