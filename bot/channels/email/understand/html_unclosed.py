"""Escape the `<` that would make html.parser quadratic, before it sees the HTML.

The stdlib parser, on a `<` whose construct never ends (`<a <a <a ...`, `</</`, `<?`, an
unclosed `<!--`), scans to the end of the document, gives up, emits the one `<` as text and
starts again at the next character: 40 KB of `<a ` took 14 s. Here every such `<` becomes
`&lt;` in one forward pass (each search only moves forward, so the pass is linear): a tag
must reach its `>` before the next `<`, a comment must have its `-->`. Comments and the
content of <script> and <style> (where `<` is ordinary text) are skipped whole.
"""

from __future__ import annotations

import re

# A `<` with no `>` before the next `<`: the only kind html.parser looks far ahead for
# (besides comments). Each lookahead stops at the next `<` or `>`, so one search is linear.
_SUSPECT = re.compile(r"<(?![^<>]*>)")
_COMMENT_END = re.compile(r"-->")
_GT = re.compile(r">")
_LT = re.compile(r"<")
_RAW_START = re.compile(r"<(script|style)(?=[\s/>])", re.IGNORECASE)
_RAW_END = {"script": re.compile(r"</script", re.IGNORECASE),
            "style": re.compile(r"</style", re.IGNORECASE)}


class _Ahead:
    """The next match of a pattern at or after a position; the answer is kept while it
    still lies ahead, so a whole pass costs one scan per pattern (`len(text)`: none)."""

    def __init__(self, text: str, pattern: re.Pattern[str]) -> None:
        self.text = text
        self.pattern = pattern
        self.found = -1

    def at(self, pos: int) -> int:
        if self.found < pos:
            m = self.pattern.search(self.text, pos)
            self.found = m.start() if m else len(self.text)
        return self.found


def _well_formed(html: str) -> bool:
    """Every `<` reaches a `>` before the next `<`, and every comment ends."""
    if _SUSPECT.search(html) is not None:
        return False
    opened = html.rfind("<!--")
    return opened < 0 or html.find("-->", opened + 4) >= 0


def escape_unclosed(html: str) -> str:
    """The same HTML with every `<` that opens nothing complete written as `&lt;`."""
    if _well_formed(html):
        return html  # nearly every mail: one regex scan, no Python loop
    size = len(html)
    lt, gt, comment_end = _Ahead(html, _LT), _Ahead(html, _GT), _Ahead(html, _COMMENT_END)
    raw_end = {name: _Ahead(html, pattern) for name, pattern in _RAW_END.items()}
    out: list[str] = []
    done = 0  # html[:done] is in `out`
    pos = lt.at(0)
    while pos < size:
        if html.startswith("<!--", pos):
            end = comment_end.at(pos + 4)
            if end < size:
                pos = lt.at(end + 3)
                continue
        else:
            close = gt.at(pos + 1)
            if close < lt.at(pos + 1):
                raw = _RAW_START.match(html, pos)
                pos = lt.at(close + 1) if raw is None else \
                    raw_end[raw.group(1).lower()].at(close + 1)
                continue
        out.append(html[done:pos])
        out.append("&lt;")
        done = pos + 1
        pos = lt.at(pos + 1)
    out.append(html[done:])
    return "".join(out)
