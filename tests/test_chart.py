"""The digest chart: a valid PNG (decoded here with zlib alone) whose bars are where and as
tall as the figures say, plus the caption and the text fallback in both languages."""

from __future__ import annotations

import struct
import zlib

import pytest

from bot import chart
from engine import metrics as m


def _month(month: int, dialogs: int, opened: int = 0, closed: int = 0) -> m.MonthFigures:
    figures = m.Figures(first_line=m.FirstLine(dialogs=dialogs, answered=dialogs),
                        second_line=m.SecondLine(opened=opened, closed=closed,
                                                 first_response_sla=m.Share(3, 4)))
    return m.MonthFigures(m.Period(2026, month), figures)


HISTORY = tuple(_month(i + 1, dialogs=10 * (i + 1), opened=i, closed=2) for i in range(6))


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGB rows) of an 8-bit RGB PNG with filter 0 rows, as we write them."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", header)
    assert (depth, colour) == (8, 2)
    return width, height, zlib.decompress(idat)


def pixel(rows: bytes, width: int, x: int, y: int) -> tuple[int, int, int]:
    stride = width * 3 + 1
    assert rows[y * stride] == 0  # filter type 0
    i = y * stride + 1 + x * 3
    return rows[i], rows[i + 1], rows[i + 2]


def test_png_has_the_declared_size_and_valid_chunks() -> None:
    width, height, rows = decode_png(chart.chart_png(HISTORY))
    assert (width, height) == (chart.WIDTH, chart.HEIGHT)
    assert len(rows) == height * (width * 3 + 1)


def test_dialog_bars_stand_where_and_as_tall_as_the_figures_say() -> None:
    width, _, rows = decode_png(chart.chart_png(HISTORY))
    panel = chart.Panel(0, 0, chart.WIDTH // 2, chart.HEIGHT // 2)
    left, upper, right, bottom = panel.plot
    a, b = chart._slot(panel, 6, 5)  # the last month holds the most dialogs: the top bar
    x = a + (b - a) // 2
    top_value = 60 * 1.15
    bar_top = bottom - int((bottom - upper) * 60 / top_value)
    assert pixel(rows, width, x, bottom - 2) == chart.BLUE
    assert pixel(rows, width, x, bar_top + 1) == chart.BLUE
    assert pixel(rows, width, x, bar_top - 20) == chart.WHITE  # above the bar and its label
    a0, b0 = chart._slot(panel, 6, 0)  # the first month's bar is a sixth as tall
    short_top = bottom - int((bottom - upper) * 10 / top_value)
    assert pixel(rows, width, a0 + (b0 - a0) // 2, short_top + 1) == chart.BLUE
    assert pixel(rows, width, a0 + (b0 - a0) // 2, (short_top + bar_top) // 2) == chart.WHITE


def test_opened_and_closed_are_two_colours_side_by_side() -> None:
    width, _, rows = decode_png(chart.chart_png(HISTORY))
    panel = chart.Panel(0, chart.HEIGHT // 2, chart.WIDTH // 2, chart.HEIGHT // 2)
    _, _, _, bottom = panel.plot
    a, b = chart._slot(panel, 6, 5)
    colours = {pixel(rows, width, x, bottom - 2) for x in range(a, b)}
    assert {chart.BLUE, chart.GREEN} <= colours


def test_an_empty_history_still_draws() -> None:
    width, height, _ = decode_png(chart.chart_png(()))
    assert (width, height) == (chart.WIDTH, chart.HEIGHT)


def test_font_draws_digits_and_nothing_for_unknown_characters() -> None:
    canvas = chart.Canvas(20, 12)
    canvas.text(0, 0, "1")
    assert canvas.get(2, 0) == chart.INK and canvas.get(0, 0) == chart.WHITE  # "010" row
    blank = chart.Canvas(20, 12)
    blank.text(0, 0, "Ж")
    assert blank.pixels == chart.Canvas(20, 12).pixels


@pytest.mark.parametrize(("lang", "word"), [("en", "dialogs"), ("ru", "диалоги")])
def test_caption_and_text_fallback_in_both_languages(lang: str, word: str) -> None:
    caption = chart.chart_caption(HISTORY, lang)
    assert caption.startswith("2026-01 … 2026-06") and word in caption
    text = chart.chart_text(HISTORY, lang).splitlines()
    assert len(text) == 7
    assert text[-1].startswith("2026-06 ██████████ 60 · 5/2 · 75%/—")
    assert text[1].startswith("2026-01 ██········ 10 ")
