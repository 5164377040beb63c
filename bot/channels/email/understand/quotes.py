"""The new part of a reply: quoted text, attribution lines, signatures and mobile footers removed.

Unlike a "cut at the first match" stripper, the text is read line by line, in passes that each
look at a bounded window around a line (so the time is linear in the size of the body):

* an Outlook-style header block ("From:/Sent:/To:" in any order and language, with or without a
  space after the colon, with or without its From line), an "Original/Forwarded message"
  separator (plain, bold, Scandinavian...), a device or app footer ("Sent from my iPhone",
  "Sendt fra min iPhone", "[Sent with Spark]") or a mailing-list rule ("__") ends the reply:
  everything after it goes;
* an attribution line ("On ... wrote:", "16.11.2026 10:00, X пишет:", wrapped over up to three
  lines, on the same line as the person's text, or without a colon when a quote follows) and
  the `>` / `ИП>` quote block after it are dropped, including lines a client hard-wrapped or
  split inside the quote; text *after* the quote is kept, so bottom-posted (Thunderbird,
  The Bat!) and interleaved answers survive, but unprefixed history below a top-posted reply
  goes;
* a line that merely ends in "пишет:" or "wrote:" is an attribution only when a quote follows
  it, or when it carries a time/date and the shape of a client's attribution, or an address.

A reply with nothing new gives "": the caller stores the mail and says so, it never invents
text. HTML replies are cut structurally first (Outlook `#divRplyFwdMsg`, Gmail `.gmail_quote`,
Thunderbird `.moz-cite-prefix`; blockquotes become `> ` lines), then the text rules apply.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.channels.email.understand.html import html_to_text

__all__ = ["strip_quotes"]

_Strength = Literal["strong", "weak"]  # weak: an attribution only if a quote follows it
_Action = Literal["keep", "drop", "cut"]
_LONG = 400  # no attribution, header or footer line is longer; longer lines are text
_LOOKAHEAD = 40  # how far a quote may follow an attribution (blank lines)
_CANDIDATES = 300  # lines looked at as attributions per mail: bounds the time of odd bodies
# Runs of blank lines become one (the reply keeps one anyway): a body of blank lines is short.
_BLANK_RUNS = re.compile(r"\n[^\S\n]*(?:\n[^\S\n]*)+\n")

# ---------------------------------------------------------------- quoted lines

# "> text" (every client); " ИП> text" / "AB> text": The Bat! and FidoNet-style initials.
_QUOTED = re.compile(r"^\s{0,3}(?:>|[A-ZА-ЯЁ]{1,4}>)")
_PREFIX = re.compile(r"^\s{0,3}(?:[A-ZА-ЯЁ]{1,4}>|>)(?:\s?>)*\s?")
_WRAP_WIDTH = 60  # a quoted line this long was probably wrapped by the replying client
_URL_TAIL = re.compile(r"(?:https?://|www\.)\S*$")

# ---------------------------------------------------------------- attribution lines

# The verb of an attribution; at the end ("wrote:") or inside ("schrieb X <a@b>:").
_VERB = re.compile(
    r"(?<!\w)(?:"
    r"wrote|writes|quoting"  # EN: Gmail, Apple Mail, Thunderbird, Outlook.com, Horde
    r"|пишет|написала?|написал\(а\)|писали?|писал\(а\)|цитирую"  # RU: Thunderbird, Apple, The Bat!
    r"|пише|написав(?:\(ла\))?"  # UK: Thunderbird, Apple Mail
    r"|schrieb"  # DE: "Am 16.11.2026 um 10:00 schrieb X <a@b>:"
    r"|a\s+écrit"  # FR: "Le lun. 16 nov. 2026 à 10:00, X <a@b> a écrit :"
    r"|escribió"  # ES: "El lun, 16 nov 2026 a las 10:00, X (<a@b>) escribió:"
    r"|ha scritto|scrisse"  # IT: "Il giorno lun 16 nov 2026 alle ore 10:00 X <a@b> ha scritto:"
    r"|schreef"  # NL: "Op ma 16 nov. 2026 om 10:00 schreef X <a@b>:"
    r"|napisał(?:a|\(a\))?|pisze"  # PL: "W dniu 16.11.2026 o 10:00, X pisze:"
    r"|escreveu|skrev|kirjoitti|napsal(?:a|\(a\))?|yazdı"  # PT, DA/NO/SV, FI, CS, TR
    r")(?!\w)",
    re.IGNORECASE,
)

# How a client's attribution line starts (also: the first half of a wrapped one).
_OPENER_WORDS = (
    r"(?:On|Am|Le|El|Il|Op|W dniu|Dnia|Em|Den|Quoting)\s"  # EN DE FR ES IT NL PL PT SV
    r"|\d{1,2}[./ ]"  # Thunderbird RU "16.11.2026 10:00,", Yandex, Apple RU "16 нояб. 2026 г."
    r"|\d{4}-\d{2}-\d{2}"  # ISO dates: Gmail in some locales, Mutt, Roundcube
    r"|(?i:пн|вт|ср|чт|пт|сб|вс),"  # Gmail RU "пн, 16 нояб. 2026 г. в 10:00"
    r"|(?i:понедельник|вторник|среда|четверг|пятница|суббота|воскресенье),"  # Mail.ru
    r"|(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday),"  # The Bat! EN
    r"|(?i:man|tir|ons|tor|fre|lør|søn)\.?\s\d"  # Gmail NO/DA "man. 16. nov. 2026 kl. 10:00"
    r"|(?i:ma|ti|ke|to|pe|la|su)\s\d"  # Gmail FI "ma 16.11.2026 klo 10.00"
    r"|(?:Вы писали|You wrote)\b"  # The Bat!
    r"|\*\s"  # Mutt "* X <a@b> [2026-11-16 10:00]:"
)
_OPENER = re.compile(f"^(?:{_OPENER_WORDS})")
# An attribution glued to the end of the person's text ("Thanks! On Mon, ... wrote:").
_GLUED = re.compile(
    r"(?<=[.!?)»])\s*(?=(?:On|Am|Le|El|Il|Op|Den|W dniu)\s|\d{1,2}\.\d{1,2}\.\d{2,4}"
    r"|\d{4}-\d{2}-\d{2}|(?:пн|вт|ср|чт|пт|сб|вс),)"
)
_TIME = re.compile(r"(?<![\d.])\d{1,2}[:.]\d{2}(?![\d.])")  # 10:00, and 10.00 (FI, NO)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")  # "On Monday at 10:00 the job wrote:" has none
_NUM_DATE = re.compile(r"(?<!\d)(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2})(?!\d)")
# Verb-less attributions name the sender's address: Gmail RU, Yandex, Mail.ru, Mutt, and
# Gmail in languages without a verb pattern above.
_ANGLE_ADDR = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
_BARE_ADDR = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
# An address split by the wrap: "<" / "support@" at the end of a line.
_SPLIT_ADDR = re.compile(r"(?:<|\(<?|@)\s+|\s+(?=>)")
_SENTENCE_END = re.compile(r"[.!?]$")

# ---------------------------------------------------------------- hard cuts

# Outlook, Thunderbird, Gmail, Yandex, Apple Mail separators above an unprefixed quote; bold
# ("*-----Original Message-----*") when a client turned HTML into text.
_SEPARATOR = re.compile(
    r"^\s*\*{0,2}\s*-{2,}\s*(?:original message|исходное сообщение|forwarded message|"
    r"пересылаемое сообщение|перенаправленное сообщение|ursprüngliche nachricht|"
    r"original-nachricht|weitergeleitete nachricht|message d'origine|message transféré|"
    r"mensaje original|mensaje reenviado|messaggio originale|messaggio inoltrato|"
    r"oorspronkelijk bericht|doorgestuurd bericht|wiadomość oryginalna|"
    r"wiadomość przekazana dalej|opprinnelig melding|videresendt melding|"
    r"ursprungligt meddelande|vidarebefordrat meddelande|oprindelig meddelelse|"
    r"videresendt meddelelse|alkuperäinen viesti|välitetty viesti|"
    r"оригинальное сообщение|начало переадресованного сообщения|переслано)\s*-{2,}\s*\*{0,2}\s*$"
    r"|^\s*\*{0,2}(?:begin forwarded message|начало переадресованного сообщения|"
    r"anfang der weitergeleiteten nachricht|début du message réexpédié|"
    r"videresendt e-post|videresendt melding|vidarebefordrat mejl|videresendt besked|"
    r"välitetty viesti alkaa)\s*:\s*\*{0,2}\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:_{5,}|-{3,}|={5,}|\*{5,})\s*$")  # a rule above "From:/Sent:"
_LIST_RULE = re.compile(r"^\s*_{2,}\s*$")  # "__" sign-off rule, Mailman's list footer

# Outlook/Gmail/Thunderbird/Mail.ru header block lines ("*From:*" when bold went to text).
_HEADER_KINDS = {
    "from": "from", "от кого": "from", "от": "from", "von": "from", "de": "from",
    "da": "from", "van": "from", "od": "from", "från": "from", "fra": "from",
    "lähettäjä": "from",
    "sent": "date", "date": "date", "отправлено": "date", "дата": "date", "gesendet": "date",
    "datum": "date", "envoyé": "date", "envoyé le": "date", "enviado": "date",
    "fecha": "date", "inviato": "date", "message du": "date", "dato": "date",
    "data": "date", "verzonden": "date", "wysłano": "date", "skickat": "date", "sendt": "date",
    "lähetetty": "date", "päivämäärä": "date",
    "to": "to", "кому": "to", "an": "to", "à": "to", "para": "to", "a": "to", "aan": "to",
    "do": "to", "till": "to", "til": "to", "pour": "to", "vastaanottaja": "to",
    "cc": "cc", "копия": "cc", "kopie": "cc", "copie à": "cc", "cci": "cc", "bcc": "cc",
    "kopio": "cc", "kopi": "cc",
    "subject": "subject", "тема": "subject", "betreff": "subject", "objet": "subject",
    "sujet": "subject", "asunto": "subject", "oggetto": "subject", "onderwerp": "subject",
    "temat": "subject", "ämne": "subject", "emne": "subject", "aihe": "subject",
}
_HEADER = re.compile(
    r"^\s*\*{0,2}(?P<name>"
    + "|".join(sorted(map(re.escape, _HEADER_KINDS), key=len, reverse=True))
    + r")\*{0,2}\s*:\*{0,2}(?P<value>.*)$"
    r"|^\s*(?P<orange>Message du)\s+\d",  # Orange/SFR: "Message du 16/11/26 10:00"
    re.IGNORECASE,
)

# ---------------------------------------------------------------- signatures and footers

_SIGNATURE = re.compile(r"^\s*--\s*$")  # RFC 3676 "-- ", trailing space often lost
_SIGN_OFF = re.compile(r"^\s*(?:--?|–|—)\s?[A-ZА-ЯЁ][\w.'’-]{0,20}(?:\s[A-ZА-ЯЁ][\w.'’-]{0,20})?\s*$")
# Footers that only a device or an app writes: ends the reply wherever it stands.
_DEVICE_FOOTER = re.compile(
    r"(?:sent|sendt|skickat|envoyé|enviado|inviato|verzonden|wysłane|odesláno|lähetetty|"
    r"отправлено|надіслано)\s+(?:from|with|via|using|on|fra|från|de|depuis|desde|da|vanaf|met|"
    r"z|ze|с|со|из|з)\s+(?:my|min|mitt|mon|ma|mi|il mio|mijn|mojego|mého|моего|моего|мого)\s"
    r"|von meinem\s.{1,40}\s(?:gesendet|verschickt)"
    r"|gesendet (?:von|mit) (?:meinem|der|dem|mein)\s"
    r"|lähetetty\s\S{1,30}(?:sta|stä)\b"  # FI "Lähetetty iPhonesta"
    r"|(?:get|hent|skaff|hämta|holen sie sich|obtenir|télécharger|descargar|получить|scarica) "
    r"outlook\s|outlook für \S+ herunterladen"
    r"|отправлено с (?:iphone|ipad|android|мобильного|телефона|планшета|устройства)"
    r"|отправлено из (?:мобильной|приложения|яндекс|почты)",
    re.IGNORECASE,
)
# App and brand footers ("Sent from Outlook", "Sent with Spark"): ordinary words, so they end
# the reply only as a paragraph of their own.
_APP_FOOTER = re.compile(
    r"(?:sent|sendt|skickat|envoyé|enviado|inviato|verzonden|wysłane|lähetetty|gesendet|"
    r"отправлено|надіслано)\s+(?:from|with|via|using|fra|från|med|de|depuis|à partir de|desde|"
    r"con|da|vanaf|met|mit|von|z|из|с|через|з)\s+\S",
    re.IGNORECASE,
)
_FOOTER_START = re.compile(  # the first word of every footer above: a cheap first check
    r"^\s*[\[(<]?\s*(?:sent|sendt|skickat|envoy|enviado|inviato|verzonden|wys|odesl|l[äa]hetetty|"
    r"отправлено|надіслано|von|gesendet|get|hent|skaff|h[äa]mta|holen|obtenir|t[ée]l[ée]charger|"
    r"descargar|получить|scarica|outlook)",
    re.IGNORECASE,
)
_FOOTER_SHAPE = re.compile(r"^\s*[\[(<]?\s*(?P<body>[^\[\]()<>]{3,90}?)\s*[.!]?\s*[\])>]?\s*"
                           r"(?:<[^<>\s]{1,200}>)?\s*$")

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


def _has_address(line: str) -> bool:
    return "@" in line and (_ANGLE_ADDR.search(line) is not None
                            or _BARE_ADDR.search(line) is not None)


def _attribution_kind(line: str) -> _Strength | None:
    """How sure we are that one (possibly joined) line is an attribution."""
    if len(line) > _LONG:
        return None
    if line.startswith("--") and _VERB.search(line.strip(" -*\t")):
        return "strong"  # "----- X <a@b> wrote -----", Yahoo's "--- On ..., X wrote:"
    colon = line.endswith(":")
    opener = _OPENER.match(line) is not None
    if _VERB.search(line):
        if not colon:
            return None
        dated = _NUM_DATE.search(line) is not None or _YEAR.search(line) is not None
        return "strong" if "@" in line or dated and opener else "weak"
    if _TIME.search(line) is None or not _has_address(line):
        return None
    if colon and (opener or _ANGLE_ADDR.search(line)):
        return "strong"
    return "weak" if opener else None  # "16.11.2026 10:00 X <a@b>": only above a quote


def _join(parts: list[str]) -> str:
    """One attribution from its wrapped lines, an address split by the wrap made whole."""
    return _SPLIT_ADDR.sub(lambda m: m.group(0).strip(), " ".join(parts))


def _window(lines: list[str], i: int) -> list[str]:
    """Up to two text lines right above line i (the first halves of a wrapped attribution)."""
    found: list[str] = []
    for j in range(i - 1, max(i - 3, -1), -1):
        line = lines[j].strip()
        if not line or len(line) > _LONG or _is_quoted(lines[j]):
            break
        found.insert(0, line)
    return found


def _opening(line: str) -> int | None:
    """Where an attribution could start in a line: at 0, or glued after the person's text."""
    if _OPENER.match(line):
        return 0
    glued = _GLUED.search(line)
    return None if glued is None else glued.end()


_Hit = tuple[int, int, _Strength]  # first line, offset in it (text before stays), strength


def _attribution_at(lines: list[str], i: int) -> _Hit | None:
    """The attribution that ends at line i: on one line, wrapped over up to three, or glued
    to the end of the person's text."""
    line = lines[i].strip()
    if not line or len(line) > _LONG:
        return None
    if not line.endswith(":"):
        if not line.startswith("--") and _OPENER.match(line) is None:
            return None  # without a colon only a banner or a dated line above a quote
        kind = _attribution_kind(line)
        return None if kind is None else (i, 0, kind)
    window = _window(lines, i)
    if not _OPENER.match(line):
        for k in range(1, len(window) + 1):
            at = _opening(window[-k])
            if at is not None:
                kind = _attribution_kind(_join([window[-k][at:], *window[len(window) - k + 1:],
                                                line]))
                if kind:
                    return i - k, at, kind
    glued = None if _OPENER.match(line) else _GLUED.search(line)
    if glued is not None:
        kind = _attribution_kind(line[glued.end():])
        if kind:
            return i, glued.end(), kind
    alone = _attribution_kind(line)
    if alone == "strong":
        return i, 0, alone
    for k in range(1, len(window) + 1):  # name first: "X <a@b> wrote on\n16.11.2026 10:00:"
        joined = _join([*window[-k:], line])
        kind = None if _SENTENCE_END.search(window[-k]) else _attribution_kind(joined)
        if kind == "strong" and _has_address(joined) or kind and alone is None:
            return i - k, 0, kind
    return None if alone is None else (i, 0, alone)


def _candidate(line: str) -> bool:
    """Cheap test: can an attribution end at this line at all?"""
    text = line.strip()
    return 0 < len(text) <= _LONG and (text.endswith(":") or text.startswith("--")
                                       or _OPENER.match(text) is not None)


def _next_text(lines: list[str], start: int) -> int | None:
    end = min(len(lines), start + _LOOKAHEAD)
    return next((j for j in range(start, end) if lines[j].strip()), None)


def _header_block_at(lines: list[str], i: int) -> bool:
    """An Outlook-style block: From plus Date/Sent (or To and Subject), any order; or Date,
    Subject and To without From. Without a rule or separator above it, a block must show it
    is a mail's (an address, a time or a subject): "From: room 214 / Date: 20.11" is a memo."""
    if not _HEADER.match(lines[i]):
        return False
    kinds: set[str] = set()
    evidence = False
    misses = 0
    for line in lines[i:i + 12]:
        match = _HEADER.match(line)
        if not line.strip() or misses > 2:
            break
        misses = 0 if match else misses + 1
        if match:
            kind = _HEADER_KINDS.get((match.group("name") or "message du").lower(), "date")
            value = match.group("value") or ""
            kinds.add(kind)
            evidence = evidence or kind == "subject" or kind == "from" and "@" in value \
                or kind == "date" and _TIME.search(line) is not None
    whole = "from" in kinds and ("date" in kinds or {"to", "subject"} <= kinds) \
        or {"date", "subject"} <= kinds and bool(kinds & {"to", "cc"})
    return whole and (evidence or _ruled_above(lines, i) < i)


def _ruled_above(lines: list[str], i: int) -> int:
    """The line of a rule or separator right above line i (a blank line between allowed)."""
    above = i - 1 if i > 0 and not lines[i - 1].strip() else i
    if above > 0 and (_RULE.match(lines[above - 1]) or _SEPARATOR.match(lines[above - 1])):
        return above - 1
    return i


def _footer_at(lines: list[str], i: int) -> bool:
    """A device or app footer: it ends the reply (a forwarded or quoted mail may follow)."""
    line = lines[i]
    if len(line) > 160:
        return False
    if _FOOTER_START.match(line) is None:
        return False
    shape = _FOOTER_SHAPE.match(line)
    if shape is None:
        return False
    body = shape.group("body")
    if "," in body or len(body.split()) > 8:
        return False  # a sentence that starts like a footer
    if _DEVICE_FOOTER.match(body):
        return True
    if not _APP_FOOTER.match(body):
        return False
    before = i == 0 or not lines[i - 1].strip()
    after = i + 1 == len(lines) or not lines[i + 1].strip() or _FOOTER_SHAPE.match(lines[i + 1])
    return before and bool(after)


def _hard_cut(lines: list[str]) -> int:
    """Index where the reply ends: an unprefixed quote (separator or header block), a device
    footer or a list rule; else len(lines)."""
    for i, line in enumerate(lines):
        if _is_quoted(line):
            continue
        if _SEPARATOR.match(line) or _LIST_RULE.match(line) or _footer_at(lines, i):
            return i
        if _header_block_at(lines, i):
            return _ruled_above(lines, i)
    return len(lines)


def _attribution_action(lines: list[str], i: int) -> tuple[_Action, _Hit | None]:
    """What to do with line i (not quoted), and the attribution that ends there."""
    hit = _attribution_at(lines, i)
    if hit is None:
        return "keep", None
    nxt = _next_text(lines, i + 1)
    if nxt is not None and _is_quoted(lines[nxt]):
        return "drop", hit
    if hit[2] == "weak":
        return "keep", None  # a trailing "... пишет:" or a sentence with a verb stays
    return ("drop" if nxt is None else "cut"), hit  # an unprefixed quote follows: all goes


def _continues_quote(prev: str, line: str) -> bool:
    """Line right under a quoted line is that line's tail: wrapped by the replying client,
    a link split in two, or a quoted-printable soft break left undecoded."""
    text = line.strip()
    if not text or _is_quoted(line):
        return False
    quoted = _PREFIX.sub("", prev, count=1).rstrip()
    if quoted.endswith("="):
        return True
    if _URL_TAIL.search(quoted) and " " not in text and any(c in text for c in "/=&?#%_-"):
        return True
    return len(quoted) >= _WRAP_WIDTH and text[0].islower()


def _quoted_lines(lines: list[str]) -> list[bool]:
    flags = [False] * len(lines)
    for i, line in enumerate(lines):
        flags[i] = _is_quoted(line) or i > 0 and _is_quoted(lines[i - 1]) \
            and _continues_quote(lines[i - 1], line)
    return flags


_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|hallo|hej|hei|moi|bonjour|salut|guten|liebe|lieber|"
    r"здравствуй|добрый|доброе|привет|уважаем)", re.IGNORECASE)
_INLINE_HINT = re.compile(
    r"(?:below|inline|in line|between|ниже|в тексте|unten|ci-dessous|nedenfor|nedan|alla)",
    re.IGNORECASE)


def _top_posted(kept: list[str]) -> bool:
    """Text above the first quote that is a reply of its own, not a greeting or a pointer to
    answers written between the quoted lines."""
    text = [line.strip() for line in kept if line.strip()]
    if not text or text[-1].endswith(":") or any(_INLINE_HINT.search(x) for x in text):
        return False
    return not (len(text) == 1 and (_GREETING.match(text[0]) or text[0].endswith(",")))


def _drop_quotes(lines: list[str]) -> list[str]:
    """Remove quoted lines and their attributions; keep text written between or after them,
    but not the unprefixed history below a top-posted reply."""
    quoted = _quoted_lines(lines)
    later = [False] * (len(lines) + 1)  # a quoted line at or after i
    for i in range(len(lines) - 1, -1, -1):
        later[i] = quoted[i] or later[i + 1]
    kept: list[str] = []
    top: bool | None = None  # decided at the first quoted line
    inside = interleaved = False
    budget = _CANDIDATES
    for i, line in enumerate(lines):
        if quoted[i]:
            top = _top_posted(kept) if top is None else top
            inside = True
            continue
        if inside and line.strip():
            inside = False
            if top and not interleaved and not later[i]:
                return kept  # history below a top-posted reply
            interleaved = interleaved or later[i]
        action, hit = "keep", None
        if budget and _candidate(line):
            budget -= 1
            action, hit = _attribution_action(lines, i)
        if action == "keep" or hit is None:
            kept.append(line)
            continue
        start, offset, _ = hit
        del kept[len(kept) - (i - start):]  # first lines of a wrapped attribution
        if offset:
            kept.append(lines[start].strip()[:offset].rstrip())
        if action == "cut":
            return kept
    return kept


def _drop_signature(lines: list[str]) -> list[str]:
    """A "-- " signature and everything below it; a "-Name" sign-off ending the reply."""
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line):
            lines = lines[:i]
            break
    text = [i for i, line in enumerate(lines) if line.strip()]
    if len(text) > 1 and _SIGN_OFF.match(lines[text[-1]]):
        return lines[:text[-1]]
    return lines


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    for raw in lines:
        line = raw.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def _normalise(text: str) -> str:
    return _BLANK_RUNS.sub("\n\n", text.replace("\r\n", "\n").replace("\r", "\n"))


def _source(text: str, html: str | None) -> str:
    """The text to strip: structurally trimmed HTML when it had quote markers."""
    if html is None or text.strip() and not _MARKER_HINT.search(html):
        return text  # no marker can match: skip the conversion
    markers = _HtmlQuoteMarkers()
    converted = html_to_text(html, markers)
    return _normalise(converted) if markers.found or not text.strip() else text


def strip_quotes(text: str, html: str | None = None) -> str:
    """The new part of a reply, "" when the mail added nothing to what it quotes. `html` (the
    HTML body, if any) is used when it carries structural quote markers or when `text` is
    empty."""
    lines = _source(_normalise(text), html).split("\n")
    return _tidy(_drop_signature(_drop_quotes(lines[:_hard_cut(lines)])))
