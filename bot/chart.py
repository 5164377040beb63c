"""F10's picture: the last months' dialogs, response time, opened/closed and SLA % as a PNG,
drawn in pure Python (a raster, a few shapes and a digits-only bitmap font, encoded with
zlib and struct) so the service needs no plotting or imaging library.

The image carries no words, only numbers, so it reads the same in every language; the
caption (`chart_caption`) names the panels and colours in the reader's language, and
`chart_text` is the fallback when a picture cannot be sent.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.i18n import t
from engine.metrics import MonthFigures

Color = tuple[int, int, int]

WIDTH, HEIGHT = 720, 480
WHITE: Color = (255, 255, 255)
GRID: Color = (225, 225, 225)
INK: Color = (60, 60, 60)
BLUE: Color = (52, 120, 200)
GREEN: Color = (60, 160, 80)
ORANGE: Color = (230, 130, 30)
PURPLE: Color = (130, 70, 170)

# 3x5 glyphs, one string of 15 bits per character, row by row.
_FONT: dict[str, str] = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001111", ".": "000000000000010", "%": "101001010100101",
    "-": "000000111000000", " ": "000000000000000",
}
_SCALE = 2


class Canvas:
    """An RGB raster; drawing clips silently at the edges."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def put(self, x: int, y: int, color: Color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i:i + 3] = bytes(color)

    def get(self, x: int, y: int) -> Color:
        i = (y * self.width + x) * 3
        return self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill [x0, x1) x [y0, y1)."""
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        row = bytes(color) * max(0, x1 - x0)
        for y in range(max(0, min(y0, y1)), min(self.height, max(y0, y1))):
            i = (y * self.width + x0) * 3
            self.pixels[i:i + len(row)] = row

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, width: int = 2) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in range(steps + 1):
            x, y = x0 + (x1 - x0) * s // steps, y0 + (y1 - y0) * s // steps
            self.rect(x - width // 2, y - width // 2, x + (width + 1) // 2,
                      y + (width + 1) // 2, color)

    def text(self, x: int, y: int, text: str, color: Color = INK) -> None:
        """Digits and `.%-` only; each glyph is 3x5 cells of `_SCALE` pixels."""
        for n, char in enumerate(text):
            bits = _FONT.get(char, _FONT[" "])
            for k, bit in enumerate(bits):
                if bit == "1":
                    cx, cy = x + (n * 4 + k % 3) * _SCALE, y + (k // 3) * _SCALE
                    self.rect(cx, cy, cx + _SCALE, cy + _SCALE, color)


def text_width(text: str) -> int:
    return (len(text) * 4 - 1) * _SCALE


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def encode_png(canvas: Canvas) -> bytes:
    """8-bit RGB, no interlace, filter 0 on every row."""
    stride = canvas.width * 3
    raw = b"".join(b"\x00" + canvas.pixels[y * stride:(y + 1) * stride]
                   for y in range(canvas.height))
    header = struct.pack(">IIBBBBB", canvas.width, canvas.height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


# --- the four panels -----------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    values: tuple[float | None, ...]
    color: Color
    bars: bool  # bars side by side; otherwise a line with dots
    below: bool = False  # a second line labels its dots underneath, clear of the first


@dataclass(frozen=True)
class Panel:
    x: int
    y: int
    width: int
    height: int

    @property
    def plot(self) -> tuple[int, int, int, int]:
        """The plotting area: room for the panel number, value labels and month labels."""
        return self.x + 34, self.y + 30, self.x + self.width - 14, self.y + self.height - 26


def _scale_max(series: Sequence[Series], fixed: float | None) -> float:
    if fixed is not None:
        return fixed
    top = max((v for s in series for v in s.values if v is not None), default=0.0)
    return top * 1.15 if top > 0 else 1.0


def _label(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _slot(panel: Panel, count: int, index: int) -> tuple[int, int]:
    left, _, right, _ = panel.plot
    width = (right - left) / max(count, 1)
    return int(left + index * width), int(left + (index + 1) * width)


def _bar(canvas: Canvas, panel: Panel, series: Series, n: int, k: int, top: float) -> None:
    _, upper, _, bottom = panel.plot
    for i, value in enumerate(series.values):
        a, b = _slot(panel, len(series.values), i)
        pad, width = (b - a) // 6, ((b - a) - 2 * ((b - a) // 6)) // n
        x0 = a + pad + k * width
        y0 = bottom - int((bottom - upper) * (value or 0) / top)
        canvas.rect(x0, y0, x0 + width - 2, bottom, series.color)
        if value is not None:
            canvas.text(x0 + (width - text_width(_label(value))) // 2, y0 - 13, _label(value))


def _points(panel: Panel, series: Series, top: float) -> list[tuple[int, int, float]]:
    _, upper, _, bottom = panel.plot
    found = []
    for i, value in enumerate(series.values):
        if value is not None:
            a, b = _slot(panel, len(series.values), i)
            found.append(((a + b) // 2, bottom - int((bottom - upper) * value / top), value))
    return found


def _line(canvas: Canvas, panel: Panel, series: Series, top: float) -> None:
    points = _points(panel, series, top)
    for (x0, y0, _), (x1, y1, _) in zip(points, points[1:], strict=False):
        canvas.line(x0, y0, x1, y1, series.color)
    for x, y, value in points:
        canvas.rect(x - 3, y - 3, x + 4, y + 4, series.color)
        canvas.text(x - text_width(_label(value)) // 2, y + 8 if series.below else y - 16,
                    _label(value))


def _frame(canvas: Canvas, panel: Panel, number: int, months: Sequence[str]) -> None:
    left, upper, right, bottom = panel.plot
    for i in range(5):
        y = upper + (bottom - upper) * i // 4
        canvas.rect(left, y, right, y + 1, GRID)
    canvas.rect(left, bottom, right, bottom + 2, INK)
    canvas.text(panel.x + 8, panel.y + 8, str(number))
    for i, month in enumerate(months):
        a, b = _slot(panel, len(months), i)
        canvas.text((a + b - text_width(month)) // 2, bottom + 8, month)


def draw_panel(canvas: Canvas, panel: Panel, number: int, months: Sequence[str],
               series: Sequence[Series], fixed_top: float | None = None) -> None:
    _frame(canvas, panel, number, months)
    top = _scale_max(series, fixed_top)
    bars = [s for s in series if s.bars]
    for k, s in enumerate(bars):
        _bar(canvas, panel, s, len(bars), k, top)
    for k, s in enumerate(s for s in series if not s.bars):
        _line(canvas, panel, replace(s, below=k > 0), top)


# --- from figures to panels ----------------------------------------------------------------

Pick = Callable[[MonthFigures], float | None]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


PANELS: tuple[tuple[tuple[Pick, Color, bool], ...], ...] = (
    ((lambda h: float(h.figures.first_line.dialogs), BLUE, True),),
    ((lambda h: _hours(h.figures.first_line.response.calendar.median), BLUE, False),
     (lambda h: _hours(h.figures.first_line.response.business.median), ORANGE, False)),
    ((lambda h: float(h.figures.second_line.opened), BLUE, True),
     (lambda h: float(h.figures.second_line.closed), GREEN, True)),
    ((lambda h: h.figures.second_line.first_response_sla.percent, ORANGE, False),
     (lambda h: h.figures.second_line.resolution_sla.percent, PURPLE, False)),
)


def chart_png(history: Sequence[MonthFigures]) -> bytes:
    """Four panels, left to right, top to bottom, numbered 1-4 as in `chart_caption`."""
    canvas = Canvas(WIDTH, HEIGHT)
    months = [f"{h.period.month:02d}" for h in history]
    half_w, half_h = WIDTH // 2, HEIGHT // 2
    for n, picks in enumerate(PANELS):
        panel = Panel((n % 2) * half_w, (n // 2) * half_h, half_w, half_h)
        series = [Series(tuple(pick(h) for h in history), color, bars)
                  for pick, color, bars in picks]
        draw_panel(canvas, panel, n + 1, months, series, 100.0 if n == 3 else None)
    return encode_png(canvas)


def chart_caption(history: Sequence[MonthFigures], lang: str) -> str:
    first, last = (str(history[0].period), str(history[-1].period)) if history else ("", "")
    return t(lang, "stats.chart.caption", first=first, last=last)


def chart_text(history: Sequence[MonthFigures], lang: str) -> str:
    """The fallback: one line per month with a bar of dialogs and the key figures."""
    top = max((h.figures.first_line.dialogs for h in history), default=0) or 1
    lines = [t(lang, "stats.chart.text_header")]
    for h in history:
        f = h.figures
        bar = "█" * round(10 * f.first_line.dialogs / top)
        lines.append(t(lang, "stats.chart.text_row", period=str(h.period),
                       bar=bar.ljust(10, "·"), dialogs=f.first_line.dialogs,
                       opened=f.second_line.opened, closed=f.second_line.closed,
                       fr=_percent(f.second_line.first_response_sla.percent),
                       res=_percent(f.second_line.resolution_sla.percent)))
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"
