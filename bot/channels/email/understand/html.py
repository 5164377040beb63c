"""HTML mail to readable text: paragraphs, line breaks and list items become newlines,
scripts and styles are dropped, entities decoded. Used for HTML-only mail and for
finding the quoted part of an HTML reply (bot/channels/email/understand/quotes.py)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Literal

from bot.channels.email.understand.html_unclosed import escape_unclosed

# A rule tells html_to_text to "drop" an element's subtree or "cut" the document there.
HtmlRule = Callable[[str, list[tuple[str, str | None]]], Literal["drop", "cut"] | None]

_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr",
                   "source", "embed", "param", "track"})
_INVISIBLE = frozenset({"script", "style", "head", "title", "template", "noscript", "xml"})
_LINE_BLOCKS = frozenset({"div", "ul", "ol", "table", "tr", "section", "article", "header",
                          "footer", "center", "form", "fieldset", "figure", "main", "nav",
                          "aside", "dl", "dt", "dd", "address", "caption", "body", "html"})
_PARA_BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr"})
_SPACES = re.compile(r"[ \t\r\n\f\u200b]+")
# Quote marks written before a line: 10,000 nested <blockquote>s must not write 10,000
# marks on each of 10,000 lines.
MAX_QUOTE_MARKS = 20
_TAG = re.compile(r"<[^<>]*>")  # last resort if html.parser gives up; "<<<<" stays linear


class _HtmlText(HTMLParser):
    """Readable text: blocks and <br> become line breaks, <li> a "- " item, <blockquote>
    a "> " quote, scripts and styles vanish, entities are decoded."""

    def __init__(self, rule: HtmlRule | None) -> None:
        super().__init__(convert_charrefs=True)
        self._rule = rule
        self._lines: list[str] = []
        self._cur: list[str] = []
        self._stack: list[str] = []
        # How often each tag is open: `tag in self._stack` scanned the whole stack, and
        # unclosed rows or stray end tags made that quadratic (seconds per 100 KB).
        self._open_tags: Counter[str] = Counter()
        self._cur_text = False  # whether self._cur holds visible text (not just spaces)
        self._hidden_at: int | None = None
        self._stopped = False
        self._quote = 0
        self._pre = 0
        self._space = True  # at a line start or after a space: drop leading blanks
        self._line_ps: set[int] = set()  # stack depths of Outlook one-line paragraphs

    # -- output
    def _flush(self) -> None:
        text = "".join(self._cur).replace("\xa0", " ").rstrip()
        self._cur = []
        self._space = True
        self._cur_text = False
        line = ("> " * min(self._quote, MAX_QUOTE_MARKS) + text).rstrip() if self._quote else text
        if line.strip(" >") or not self._lines or self._lines[-1].strip(" >"):
            self._lines.append(line)

    def _break(self) -> None:
        pending = "".join(self._cur)
        if pending.strip() or "\xa0" in pending:  # <p>&nbsp;</p>: Outlook's blank line
            self._flush()
        self._cur = []
        self._cur_text = False
        self._space = True

    def _push(self, tag: str) -> None:
        self._stack.append(tag)
        self._open_tags[tag] += 1

    def _pop(self) -> str:
        name = self._stack.pop()
        self._open_tags[name] -= 1
        return name

    def _emit(self, text: str) -> None:
        self._cur.append(text)
        if not self._cur_text and text.strip():
            self._cur_text = True

    def _paragraph(self) -> None:
        self._break()
        if self._lines and self._lines[-1].strip(" >"):
            self._lines.append(">" * min(self._quote, MAX_QUOTE_MARKS))

    # -- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._stopped:
            return
        if self._hidden_at is not None:
            if tag not in _VOID:
                self._push(tag)
            return
        action = self._rule(tag, attrs) if self._rule else None
        if action == "cut":
            self._stopped = True
        elif tag in _VOID:
            self._void(tag)
        else:
            self._push(tag)
            if action == "drop" or tag in _INVISIBLE:
                self._hidden_at = len(self._stack) - 1
            else:
                self._open(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._stopped or not self._open_tags[tag]:
            return
        while self._stack:
            name = self._pop()
            if self._hidden_at is None:
                self._close(name)
            elif len(self._stack) <= self._hidden_at:
                self._hidden_at = None
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        if self._stopped or self._hidden_at is not None:
            return
        if self._pre:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._emit(first)
            for line in rest:
                self._flush()
                self._emit(line)
            return
        data = _SPACES.sub(" ", data)
        if self._space:
            data = data.lstrip(" ")
        if data:
            self._emit(data)
            self._space = data.endswith(" ")

    # -- tag semantics
    def _void(self, tag: str) -> None:
        if tag == "br":
            self._flush()
        elif tag == "hr":
            self._paragraph()

    def _open(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "blockquote":
            self._break()
            self._quote += 1
        elif tag == "li":
            self._break()
            self._emit("- ")
            self._space = True
        elif tag in ("td", "th") and self._cur_text:
            self._cur.append("  ")
            self._space = True
        elif tag == "p" and ("class", "MsoNormal") in attrs:
            self._break()  # Outlook writes one <p class=MsoNormal> per line
            self._line_ps.add(len(self._stack) - 1)
        elif tag in _PARA_BLOCKS:
            self._paragraph()
        elif tag in _LINE_BLOCKS:
            self._break()
        if tag == "pre":
            self._pre += 1

    def _close(self, tag: str) -> None:
        if tag == "p" and len(self._stack) in self._line_ps:
            self._line_ps.discard(len(self._stack))
            self._break()
        elif tag == "blockquote":
            self._break()
            self._quote = max(0, self._quote - 1)
        elif tag in _PARA_BLOCKS:
            self._paragraph()
            self._pre = max(0, self._pre - 1) if tag == "pre" else self._pre
        elif tag in _LINE_BLOCKS or tag == "li":
            self._break()

    def text(self) -> str:
        self.close()
        self._break()
        return "\n".join(self._lines).strip("\n")


def html_to_text(html: str, rule: HtmlRule | None = None) -> str:
    """Convert HTML to readable plain text (stdlib html.parser only); never raises."""
    parser = _HtmlText(rule)
    try:
        parser.feed(escape_unclosed(html))
        return parser.text()
    except (AssertionError, ValueError, RecursionError):
        return _SPACES.sub(" ", _TAG.sub(" ", html)).strip()


