"""Reply text exactly right: the share of the reply corpus (tests/mail/replies, seven origins)
whose new text strip_quotes returns exactly, overall and for the Russian cases, beside the
figures in issue #10 and beside a baseline stripper run on the same cases in the same run.

Run from the project root: .venv/bin/python -m bench.reply_text [--baseline REF] [--list]
The baseline is bot/channels/email/understand/quotes.py as committed at REF (default: main),
loaded from git next to this build's module; --list names each case either one gets wrong.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

from bot.channels.email.understand.quotes import strip_quotes
from tests.support_replies import ReplyCase, reply_cases

MODULE = "bot/channels/email/understand/quotes.py"
ISSUE = [  # (who, overall, Russian) as issue #10 reports them on its own 253 cases
    ("ticketbot before (issue #10)", 0.73, 0.92),
    ("django-helpdesk 2.6.1 parser (issue #10)", 0.49, 0.37),
    ("best open reply stripper (issue #10)", 0.80, 0.63),
]
Strip = Callable[[str], str]


def baseline(ref: str) -> Strip | None:
    """strip_quotes as committed at `ref`, or None when git cannot show it."""
    root = Path(__file__).resolve().parent.parent
    try:
        source = subprocess.run(["git", "show", f"{ref}:{MODULE}"], cwd=root, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType(f"baseline_quotes_{ref}")
    exec(compile(source, f"{ref}:{MODULE}", "exec"), module.__dict__)  # noqa: S102 - our own file
    found = module.__dict__["strip_quotes"]
    return lambda text: str(found(text))


def score(strip: Strip, cases: list[ReplyCase]) -> tuple[float, float, list[str], float]:
    """(overall, Russian, ids missed, seconds per case: the best of three passes)."""
    right = {c.id: strip(c.body) == c.expected for c in cases}
    took = min(_seconds(strip, cases) for _ in range(3)) / len(cases)
    russian = [c for c in cases if c.russian]
    return (sum(right.values()) / len(cases), sum(right[c.id] for c in russian) / len(russian),
            [k for k, ok in right.items() if not ok], took)


def _seconds(strip: Strip, cases: list[ReplyCase]) -> float:
    start = time.perf_counter()
    for case in cases:
        strip(case.body)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git ref of the baseline stripper")
    parser.add_argument("--list", action="store_true", help="name the cases each one misses")
    args = parser.parse_args(argv)
    cases = reply_cases()
    origins = sorted({c.origin for c in cases})
    print(f"reply text exactly right: {len(cases)} cases, {sum(c.russian for c in cases)} "
          f"Russian, {len(origins)} origins ({', '.join(origins)})")
    rows: list[tuple[str, Strip]] = [("this build", strip_quotes)]
    other = baseline(args.baseline)
    if other is None:
        print(f"  (baseline {args.baseline!r} not available from git)")
    else:
        rows.append((f"{args.baseline} (same cases, same run)", other))
    print(f"  {'stripper':44} {'overall':>8} {'Russian':>8} {'per mail':>9}")
    for name, strip in rows:
        overall, russian, missed, took = score(strip, cases)
        print(f"  {name:44} {overall:8.2f} {russian:8.2f} {took * 1e6:7.0f}µs")
        by_origin = {o: [c for c in cases if c.origin == o] for o in origins}
        print("    " + ", ".join(
            f"{o} {sum(c.id not in missed for c in cs)}/{len(cs)}" for o, cs in by_origin.items()))
        if args.list:
            for case_id in missed:
                print(f"    missed {case_id}")
    for name, overall, russian in ISSUE:
        print(f"  {name:44} {overall:8.2f} {russian:8.2f}  (their 253 cases)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
