"""Hostile mail through the parser: the baseline's CPU time beside ours, in the same run.

Run from the project root: .venv/bin/python -m bench.mail_hostile [--baseline REV]
[--mutants N] [--limit S]

* Each pathological input of issue 13 (generated here), parse_mail alone, CPU seconds: the
  baseline's parser (parse.py and html.py as of REV, read with `git show`) and ours. Every
  measurement runs in its own process, killed after --limit seconds (shown as "> S").
* N mutants of the bench.mail_parse corpus (bytes flipped, cut, doubled, tags and `<`
  inserted): the slowest mail, and how many took over 0.1 s and over 1 s, baseline and ours.
* The parse bench's ordinary corpus (2,000 mails), mails per CPU second, baseline and ours.
* The longest event-loop stall while a slow (linear, 1 MB of HTML) mail is parsed: inline
  on the loop, as before, and through offload.MailParser.
* What the worker process costs: parse + quote strip inline versus in the worker, per size,
  and its start-up; this sets offload.INLINE_BELOW.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import subprocess
import sys
import time
import types
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Any

from bench.mail_parse import corpus

BASELINE = "82efeae"  # the commit before the parser was made linear
_MODULES = ("bot/channels/email/understand/html.py", "bot/channels/email/understand/parse.py")


def _html_mail(html: str) -> bytes:
    return (b"From: Carl <carl@acme.example>\r\nTo: support@help.example.com\r\nSubject: x\r\n"
            b"Message-ID: <x@acme.example>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            + html.encode())


def _flowed_mail(body: str) -> bytes:
    return (b"From: Carl <carl@acme.example>\r\nTo: support@help.example.com\r\nSubject: x\r\n"
            b"Message-ID: <x@acme.example>\r\nContent-Type: text/plain; charset=utf-8; "
            b"format=flowed\r\n\r\n" + body.encode())


def _fill(unit: str, size: int) -> str:
    return unit * (size // len(unit))


CASES: dict[str, Callable[[], bytes]] = {
    "HTML, mismatched end tags, 140 KB": lambda: _html_mail(_fill("<div><b>word</i>", 140_000)),
    "HTML table, unclosed rows, 280 KB": lambda: _html_mail(
        "<table>" + _fill("<tr><td>cell</td>", 280_000) + "</table>"),
    "HTML cells without rows, 280 KB": lambda: _html_mail(_fill("<td>x", 280_000)),
    "HTML, unterminated start tags, 140 KB": lambda: _html_mail(_fill("<a ", 140_000)),
    "HTML, unterminated end tags, 140 KB": lambda: _html_mail(_fill("</", 140_000)),
    "HTML, unclosed comments, 140 KB": lambda: _html_mail(_fill("<!--x", 140_000)),
    "HTML, nested quotes, 140 KB": lambda: _html_mail(_fill("<blockquote>q", 140_000)),
    "format=flowed, one paragraph, 2.5 MB": lambda: _flowed_mail(
        _fill("word word word word word word word word word word word word \r\n", 2_500_000)),
    "format=flowed, quoted paragraph, 2.5 MB": lambda: _flowed_mail(
        _fill("> word word word word word word word word word word word \r\n", 2_500_000)),
}


# ---------------------------------------------------------------- the parsers compared

def _baseline_parse(rev: str) -> Callable[[bytes], Any]:
    """parse_mail as of `rev`: its parse.py over its own html.py, as fresh modules."""
    html_name = "bot.channels.email.understand.html"
    sources = [subprocess.run(["git", "show", f"{rev}:{path}"], check=True,
                              capture_output=True, text=True).stdout for path in _MODULES]
    html = types.ModuleType("baseline_html")
    exec(compile(sources[0], "baseline/html.py", "exec"), html.__dict__)
    current = sys.modules.get(html_name)
    sys.modules[html_name] = html  # what the baseline parse.py imports
    try:
        parse = types.ModuleType("baseline_parse")
        parse.__dict__["__name__"] = "baseline_parse"
        sys.modules["baseline_parse"] = parse  # dataclasses look their module up
        exec(compile(sources[1], "baseline/parse.py", "exec"), parse.__dict__)
    finally:
        if current is not None:
            sys.modules[html_name] = current
    fn: Callable[[bytes], Any] = parse.__dict__["parse_mail"]
    return fn


def _parser(which: str) -> Callable[[bytes], Any]:
    if which == "ours":
        from bot.channels.email.understand.parse import parse_mail
        return parse_mail
    return _baseline_parse(which)


def _run_case(which: str, case: str, out: Queue[float]) -> None:
    parse, raw = _parser(which), CASES[case]()
    start = time.process_time()
    parse(raw)
    out.put(time.process_time() - start)


def _run_mutants(which: str, count: int, out: Queue[tuple[float, int, int]]) -> None:
    parse, worst, over_tenth, over_second = _parser(which), 0.0, 0, 0
    for raw in mutants(count):
        start = time.process_time()
        parse(raw)
        took = time.process_time() - start
        worst = max(worst, took)
        over_tenth += took > 0.1
        over_second += took > 1.0
    out.put((worst, over_tenth, over_second))


def _run_corpus(which: str, count: int, out: Queue[float]) -> None:
    parse, mails = _parser(which), corpus(count)
    best = float("inf")
    for _ in range(5):  # CPU time, best of five: other work shares the machine
        start = time.process_time()
        for raw in mails:
            parse(raw)
        best = min(best, time.process_time() - start)
    out.put(len(mails) / best)


def _in_child(target: Callable[..., None], args: tuple[Any, ...], limit: float) -> Any:
    """The child's answer, or None when it ran past `limit` (it is killed)."""
    ctx = multiprocessing.get_context("spawn")
    out: Queue[Any] = ctx.Queue()
    child = ctx.Process(target=target, args=(*args, out))
    child.start()
    child.join(limit)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return out.get() if not out.empty() else None


# ---------------------------------------------------------------- mutants

_INSERTS = [b"<a ", b"</", b"<td>", b"</i>", b"<!--", b"<blockquote>", b"\r\n> ", b"=\r\n",
            b"format=flowed; ", b"<", b"\x00", b"\xff"]


def mutants(count: int) -> list[bytes]:
    """Seeded mutations of the parse bench's corpus: flips, cuts, doubled runs, insertions."""
    random.seed(13)
    base = corpus(60)
    found = []
    for i in range(count):
        raw = bytearray(base[i % len(base)])
        for _ in range(random.randint(1, 6)):
            at = random.randrange(len(raw))
            kind = random.random()
            if kind < 0.3:
                raw[at] = random.randrange(256)
            elif kind < 0.5:
                del raw[at:at + random.randint(1, 200)]
            elif kind < 0.7:
                run = bytes(raw[at:at + random.randint(1, 40)])
                raw[at:at] = run * random.randint(2, 3000)
            else:
                raw[at:at] = random.choice(_INSERTS) * random.randint(1, 5000)
        found.append(bytes(raw))
    return found


# ---------------------------------------------------------------- the worker process

async def _longest_stall(parse: Callable[[bytes], Any]) -> tuple[float, float]:
    """(seconds the parse took, longest gap between two turns of a 1 ms ticker meanwhile)."""
    slow = _html_mail(_fill("<p>para <b>x</b> text\r\n", 1_000_000))
    gaps = [0.0]
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    result = parse(slow)
    if asyncio.iscoroutine(result):
        await result
    took = time.perf_counter() - start
    done.set()
    await ticking
    return took, max(gaps)


async def _stalls() -> list[str]:
    from bot.channels.email.understand.jobs import understand
    from bot.channels.email.understand.offload import MailParser

    parser = MailParser()
    await parser.parse(_html_mail(_fill("<p>warm the worker up</p>\r\n", 100_000)))
    inline = await _longest_stall(understand)
    offloaded = await _longest_stall(parser.parse)
    await parser.close()
    return [f"inline on the loop: parse {inline[0]:.3f} s, longest stall {inline[1]:.3f} s",
            f"offload.MailParser: parse {offloaded[0]:.3f} s, longest stall "
            f"{offloaded[1]:.3f} s"]


async def _worker_costs() -> list[str]:
    from bot.channels.email.understand.jobs import understand
    from bot.channels.email.understand.offload import MailParser

    def plain(size: int) -> bytes:
        line = "Hello, the printer on floor 2 jams again and again.\n"
        return (b"From: Carl <carl@acme.example>\nTo: support@x.y\nSubject: x\nMessage-ID: <a@b>"
                b"\nContent-Type: text/plain; charset=utf-8\n\n" + _fill(line, size).encode())

    parser = MailParser(inline_below=0)
    start = time.perf_counter()
    await parser.parse(plain(100))
    lines = [f"worker start-up and first mail: {time.perf_counter() - start:.3f} s"]
    for size in (1_000, 7_000, 32_000, 64_000, 256_000, 1_000_000):
        raw, rounds = plain(size), 100 if size < 100_000 else 10
        start = time.perf_counter()
        for _ in range(rounds):
            understand(raw)
        inline = (time.perf_counter() - start) / rounds
        start = time.perf_counter()
        for _ in range(rounds):
            await parser.parse(raw)
        worker = (time.perf_counter() - start) / rounds
        lines.append(f"{size:>9,} bytes: inline {inline * 1e3:7.2f} ms, in the worker "
                     f"{worker * 1e3:7.2f} ms (the loop is free meanwhile)")
    await parser.close()
    return lines


def _seconds(value: float | None, limit: float) -> str:
    return f"> {limit:.0f} s" if value is None else f"{value:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    parser.add_argument("--mutants", type=int, default=1000)
    parser.add_argument("--corpus", type=int, default=2000)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per measurement")
    args = parser.parse_args()
    print(f"parse_mail, CPU seconds (baseline {args.baseline} | ours)")
    for case in CASES:
        base = _in_child(_run_case, (args.baseline, case), args.limit)
        ours = _in_child(_run_case, ("ours", case), args.limit)
        print(f"  {case:42} {_seconds(base, args.limit):>10} | {_seconds(ours, args.limit)}")
    print(f"{args.mutants} mutated mails: slowest, over 0.1 s, over 1 s (baseline | ours)")
    for which in (args.baseline, "ours"):
        found = _in_child(_run_mutants, (which, args.mutants), args.limit * 10)
        label = "baseline" if which != "ours" else "ours"
        if found is None:
            print(f"  {label:9} did not finish in {args.limit * 10:.0f} s")
        else:
            worst, tenth, second = found
            print(f"  {label:9} slowest {worst:.3f} s, {tenth} over 0.1 s, {second} over 1 s")
    print(f"ordinary corpus ({args.corpus} mails), parse_mail, mails per CPU second "
          "(baseline | ours)")
    rates = [_in_child(_run_corpus, (which, args.corpus), args.limit * 5)
             for which in (args.baseline, "ours")]
    print("  " + " | ".join("-" if r is None else f"{r:,.0f}" for r in rates))
    print("a slow mail (1 MB of HTML, linear) while a 1 ms ticker runs on the loop")
    for line in asyncio.run(_stalls()):
        print("  " + line)
    print("parse + quote strip, inline vs the worker process (plain text mail)")
    for line in asyncio.run(_worker_costs()):
        print("  " + line)


if __name__ == "__main__":
    main()
