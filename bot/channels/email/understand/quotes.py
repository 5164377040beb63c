"""The new part of a reply: quoted text, attribution lines, signatures and mobile footers removed.

Unlike a "cut at the first match" stripper, the text is read line by line:

* an Outlook-style header block ("From:/Sent:/To:" in any order and language, "От:/Дата:"
  memos) or an "Original/Forwarded message" separator ends the reply: the quote that follows
  is not prefixed, so everything after it goes;
* an attribution line ("On ... wrote:", "16.11.2026 10:00, X пишет:", ...) and the `>` /
  `ИП>` quote block after it are dropped, but text *after* the quote is kept, so bottom-posted
  (Thunderbird, The Bat!) and interleaved answers survive;
* a line that merely ends in "пишет:" or "wrote:" is an attribution only when a quote follows
  it, or when it carries a time/date and the shape of a client's attribution, or an address.

HTML replies are cut structurally first (Outlook `#divRplyFwdMsg`, Gmail `.gmail_quote`,
Thunderbird `.moz-cite-prefix`; blockquotes become `> ` lines), then the text rules apply.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.channels.email.understand.html import html_to_text

__all__ = ["strip_quotes"]

_Strength = Literal["strong", "weak"]  # weak: an attribution only if a quote follows it
_Action = Literal["keep", "drop", "cut"]

# ---------------------------------------------------------------- quoted lines

# "> text" (every client); " ИП> text" / "AB> text": The Bat! and FidoNet-style initials.
_QUOTED = re.compile(r"^\s{0,3}(?:>|[A-ZА-ЯЁ]{1,4}>)")

# ---------------------------------------------------------------- attribution lines

# The verb of an attribution; at the end ("wrote:") or inside ("schrieb X <a@b>:").
_VERB = re.compile(
    r"(?<!\w)(?:"
    r"wrote|writes|quoting"  # EN: Gmail, Apple Mail, Thunderbird, Outlook.com, Horde
    r"|пишет|написала?|написал\(а\)|писали?|писал\(а\)|цитирую"  # RU: Thunderbird, Apple, The Bat!
    r"|пише|написав(?:\(ла\))?"  # UK: Thunderbird, Apple Mail
    r"|schrieb"  # DE: "Am 16.11.2026 um 10:00 schrieb X <a@b>:"
    r"|a écrit"  # FR: "Le lun. 16 nov. 2026 à 10:00, X <a@b> a écrit :"
    r"|escribió"  # ES: "El lun, 16 nov 2026 a las 10:00, X (<a@b>) escribió:"
    r"|ha scritto|scrisse"  # IT: "Il giorno lun 16 nov 2026 alle ore 10:00 X <a@b> ha scritto:"
    r"|schreef"  # NL: "Op ma 16 nov. 2026 om 10:00 schreef X <a@b>:"
    r"|napisał(?:a|\(a\))?|pisze"  # PL: "W dniu 16.11.2026 o 10:00, X pisze:"
    r"|escreveu|skrev|kirjoitti|napsal(?:a|\(a\))?|yazdı"  # PT, DA/NO/SV, FI, CS, TR
    r")(?!\w)",
    re.IGNORECASE,
)

# How a client's attribution line starts (also: the first half of a wrapped one).
_OPENER = re.compile(
    r"^(?:On|Am|Le|El|Il|Op|W dniu|Dnia|Em|Den|Quoting)\s"  # Gmail/Apple/TB in EN DE FR ES IT NL PL PT SV
    r"|^\d{1,2}[./ ]"  # Thunderbird RU "16.11.2026 10:00,", Yandex, Apple RU "16 нояб. 2026 г."
    r"|^(?i:пн|вт|ср|чт|пт|сб|вс),"  # Gmail RU "пн, 16 нояб. 2026 г. в 10:00"
    r"|^(?i:понедельник|вторник|среда|четверг|пятница|суббота|воскресенье),"  # Mail.ru
    r"|^(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday),"  # The Bat! EN
    r"|^(?:Вы писали|You wrote)\b"  # The Bat!
    r"|^\*\s",  # Mutt "* X <a@b> [2026-11-16 10:00]:"
)
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_NUM_DATE = re.compile(r"(?<!\d)(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2})(?!\d)")
# Verb-less attributions name the sender's address: Gmail RU, Yandex, Mail.ru, Mutt, and
# Gmail in languages without a verb pattern above.
_ANGLE_ADDR = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")

# ---------------------------------------------------------------- hard cuts

# Outlook, Thunderbird, Gmail, Yandex, Apple Mail separators above an unprefixed quote.
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original message|исходное сообщение|forwarded message|"
    r"пересылаемое сообщение|перенаправленное сообщение|ursprüngliche nachricht|"
    r"original-nachricht|weitergeleitete nachricht|message d'origine|message transféré|"
    r"mensaje original|mensaje reenviado|messaggio originale|messaggio inoltrato|"
    r"oorspronkelijk bericht|doorgestuurd bericht|wiadomość oryginalna|"
    r"wiadomość przekazana dalej)\s*-{2,}\s*$"
    r"|^\s*(?:begin forwarded message|начало переадресованного сообщения|"
    r"anfang der weitergeleiteten nachricht|début du message réexpédié)\s*:\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")  # Outlook's rule above "From:/Sent:"

# Outlook/Gmail/Thunderbird/Mail.ru header block lines ("*From:*" when bold went to text).
_HEADER_KINDS = {
    "from": "from", "от кого": "from", "от": "from", "von": "from", "de": "from",
    "da": "from", "van": "from", "od": "from", "från": "from", "fra": "from",
    "sent": "date", "date": "date", "отправлено": "date", "дата": "date", "gesendet": "date",
    "datum": "date", "envoyé": "date", "enviado": "date", "fecha": "date", "inviato": "date",
    "data": "date", "verzonden": "date", "wysłano": "date", "skickat": "date", "sendt": "date",
    "to": "to", "кому": "to", "an": "to", "à": "to", "para": "to", "a": "to", "aan": "to",
    "do": "to", "till": "to", "til": "to", "cc": "cc", "копия": "cc", "kopie": "cc",
    "subject": "subject", "тема": "subject", "betreff": "subject", "objet": "subject",
    "asunto": "subject", "oggetto": "subject", "onderwerp": "subject", "temat": "subject",
    "ämne": "subject", "emne": "subject",
}
_HEADER = re.compile(
    r"^\s*\*?(?P<name>"
    + "|".join(sorted(map(re.escape, _HEADER_KINDS), key=len, reverse=True))
    + r")\*?\s*:\*?(?:\s|$)",
    re.IGNORECASE,
)

# ---------------------------------------------------------------- signatures and footers

_SIGNATURE = "--"  # RFC 3676 "-- ", trailing space often lost
_FOOTER = re.compile(
    r"^\s*(?:"
    r"Sent from my [\w'’ -]{1,40}"  # iOS/Android: "Sent from my iPhone", "... Galaxy smartphone"
    r"|Sent from (?:Mail|Outlook|Yahoo Mail|Gmail|Mail\.ru|Yandex\.Mail)\b[\w .-]{0,40}"
    r"|Sent with Proton ?Mail[\w .-]{0,40}"  # Proton
    r"|Get Outlook for (?:iOS|Android)|Получить Outlook для (?:iOS|Android)"  # Outlook mobile
    r"|Отправлено с [\w'’ -]{1,40}"  # iOS RU "Отправлено с iPhone"
    r"|Отправлено из (?:мобильной|приложения) [\w.' -]{1,40}"  # Mail.ru, Yandex apps
    r"|Von meinem [\w -]{1,30} gesendet|Envoyé de mon [\w -]{1,30}"  # DE, FR
    r"|Enviado desde mi [\w -]{1,30}|Inviato da [\w -]{1,30}"  # ES, IT
    r"|Verzonden (?:vanaf|met) mijn [\w -]{1,30}|Wysłane z [\w' -]{1,30}"  # NL, PL
    r")[.!]?\s*(?:<[^>]*>)?\s*$",
    re.IGNORECASE,
)

# ---------------------------------------------------------------- HTML markers

# Elements after which an HTML reply is all quote (Outlook web/desktop/Mac, new Outlook).
_CUT_IDS = frozenset({"divrplyfwdmsg", "appendonsend", "stopspelling", "olk_src_body_section",
                      "mail-editor-reference-message-container"})
_CUT_CLASSES = frozenset({"outlookmessageheader"})
# Subtrees that are quote, attribution or signature (Gmail, Thunderbird, Yahoo, Proton).
_DROP_CLASSES = frozenset({"gmail_quote", "gmail_attr", "gmail_signature", "moz-cite-prefix",
                           "moz-signature", "yahoo_quoted", "protonmail_quote"})


# Cheap pre-check: an HTML body without any of these words has no marker to find.
_MARKER_HINT = re.compile(
    "blockquote|" + "|".join(map(re.escape, sorted(_CUT_IDS | _CUT_CLASSES | _DROP_CLASSES))),
    re.IGNORECASE,
)


class _HtmlQuoteMarkers:
    """An html_to_text rule that cuts/drops quote containers and notes whether it saw any."""

    def __init__(self) -> None:
        self.found = False

    def __call__(
        self, tag: str, attrs: list[tuple[str, str | None]]
    ) -> Literal["drop", "cut"] | None:
        values = {name: (value or "").lower() for name, value in attrs}
        classes = set(values.get("class", "").split())
        if values.get("id") in _CUT_IDS or classes & _CUT_CLASSES:
            self.found = True
            return "cut"
        if classes & _DROP_CLASSES:
            self.found = True
            return "drop"
        self.found = self.found or tag == "blockquote"
        return None


# ---------------------------------------------------------------- the rules


def _is_quoted(line: str) -> bool:
    return _QUOTED.match(line) is not None


def _attribution_kind(line: str) -> _Strength | None:
    """How sure we are that one (possibly joined) line is an attribution."""
    if not line.endswith(":") or len(line) > 400:
        return None
    dated = _TIME.search(line) is not None or _NUM_DATE.search(line) is not None
    if _VERB.search(line):
        strong = "@" in line or dated and _OPENER.match(line) is not None
        return "strong" if strong else "weak"
    if _ANGLE_ADDR.search(line) and _TIME.search(line):
        return "strong"
    return None


def _attribution_at(lines: list[str], i: int) -> tuple[int, bool] | None:
    """(first line, strong) if line i ends an attribution, possibly wrapped over two lines."""
    line = lines[i].strip()
    if not line.endswith(":"):
        return None
    prev = lines[i - 1].strip() if i > 0 and not _is_quoted(lines[i - 1]) else ""
    if prev and not _OPENER.match(line) and _OPENER.match(prev):
        joined = _attribution_kind(f"{prev} {line}")
        if joined:
            return i - 1, joined == "strong"
    kind = _attribution_kind(line)
    return (i, kind == "strong") if kind else None


def _next_text(lines: list[str], start: int) -> int | None:
    return next((j for j in range(start, len(lines)) if lines[j].strip()), None)


def _header_block_at(lines: list[str], i: int) -> bool:
    """An Outlook-style block: From plus Date/Sent (or To and Subject), any order."""
    if not _HEADER.match(lines[i]):
        return False
    kinds: set[str] = set()
    misses = 0
    for line in lines[i:i + 12]:
        match = _HEADER.match(line)
        if not line.strip() or misses > 2:
            break
        misses = 0 if match else misses + 1
        if match:
            kinds.add(_HEADER_KINDS[match.group("name").lower()])
    return "from" in kinds and ("date" in kinds or {"to", "subject"} <= kinds)


def _hard_cut(lines: list[str]) -> int:
    """Index where an unprefixed quote starts (separator or header block), else len(lines)."""
    for i, line in enumerate(lines):
        if _is_quoted(line):
            continue
        if _SEPARATOR.match(line):
            return i
        if _header_block_at(lines, i):
            above = i - 1 if i > 0 and not lines[i - 1].strip() else i
            return above - 1 if above > 0 and _UNDERSCORES.match(lines[above - 1]) else i
    return len(lines)


def _attribution_action(lines: list[str], i: int) -> tuple[_Action, int]:
    """What to do with line i (not quoted), and the first line of its attribution."""
    hit = _attribution_at(lines, i)
    if hit is None:
        return "keep", i
    start, strong = hit
    nxt = _next_text(lines, i + 1)
    if nxt is None:
        return ("drop" if strong else "keep"), start  # a trailing "... пишет:" stays
    if _is_quoted(lines[nxt]):
        return "drop", start
    return ("cut" if strong else "keep"), start  # unprefixed quote vs a sentence with a verb


def _drop_quotes(lines: list[str]) -> list[str]:
    """Remove quoted lines and their attributions; keep text written between or after them."""
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _is_quoted(line):
            continue
        action, start = _attribution_action(lines, i)
        if action == "keep":
            kept.append(line)
            continue
        if start < i:
            kept.pop()  # first half of a wrapped attribution
        if action == "cut":
            return kept
    return kept


def _drop_signature(lines: list[str]) -> list[str]:
    kept = [line for line in lines if not _FOOTER.match(line)]
    for i, line in enumerate(kept):
        if line.strip() == _SIGNATURE:
            return kept[:i]
    return kept


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    for raw in lines:
        line = raw.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _source(text: str, html: str | None) -> str:
    """The text to strip: structurally trimmed HTML when it had quote markers."""
    if html is None or text.strip() and not _MARKER_HINT.search(html):
        return text  # no marker can match: skip the conversion
    markers = _HtmlQuoteMarkers()
    converted = html_to_text(html, markers)
    return _normalise(converted) if markers.found or not text.strip() else text


def strip_quotes(text: str, html: str | None = None) -> str:
    """The new part of a reply. `html` (the HTML body, if any) is used when it carries
    structural quote markers or when `text` is empty. Never empty when the mail had text."""
    original = _normalise(text)
    lines = _source(original, html).split("\n")
    lines = _drop_signature(_drop_quotes(lines[:_hard_cut(lines)]))
    reply = _tidy(lines)
    if reply:
        return reply
    return original.strip() or (_tidy(html_to_text(html).split("\n")) if html else "")
