"""CLI start-up, as cron pays it, beside another revision of the tree in the same run.

Run as root from the project root (Dovecot drops privileges):

    .venv/bin/python -m bench.startup [--baseline main] [--repeat 7]

Each command runs as its own process (`python -m bot ...`, from this tree and from the
baseline revision exported with `git archive`, both byte-compiled as `pip install` leaves
them), on an empty SQLite database and an empty Dovecot mailbox: `--help`, `mail fetch
--once` with nothing to fetch, `mail send --once` with nothing to send. Printed: the median
wall and CPU seconds of each, for both trees, and the bare interpreter (`python -c pass`).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.cron_loop import imap_config
from tests.support_email import Dovecot, running_dovecot

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = "support@help.example.com"


def export(revision: str, into: Path) -> Path:
    tree = into / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def byte_compile(tree: Path) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", "bot", "engine", "config"],
                   cwd=tree, check=True, stdout=subprocess.DEVNULL)


def config(work: Path, name: str, dv: Dovecot, user: str) -> Path:
    """Port 9 for the relay: the empty queue sends nothing."""
    return imap_config(work / f"{name}.toml", work / f"{name}.db", dv, user, 9)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} in {cwd} exited {out.returncode}:\n{out.stderr}")
    return wall, c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime


def median(cmd: list[str], cwd: Path, env: dict[str, str], repeat: int) -> tuple[float, float]:
    walls, cpus = zip(*(timed(cmd, cwd, env) for _ in range(repeat)), strict=True)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="main", help="revision to compare (main)")
    parser.add_argument("--repeat", type=int, default=7, help="runs of each (median)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ticketbot-startup-", dir="/tmp"))
    env = {**os.environ, "TICKETBOT_IMAP_PASSWORD": "secret", "TICKETBOT_SECRET": "bench"}
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"Python {sys.version.split()[0]}")
    try:
        trees = {"this tree": ROOT, f"baseline {args.baseline}": export(args.baseline, work)}
        with running_dovecot(2) as dv:
            rows: list[tuple[str, str, float, float]] = []
            py = [sys.executable]
            rows.append(("python -c pass", "", *median(py + ["-c", "pass"], ROOT, env,
                                                       args.repeat)))
            for k, (name, tree) in enumerate(trees.items()):
                byte_compile(tree)
                conf = config(work, f"t{k}", dv, f"u{k + 1}@example.test")
                bot = py + ["-m", "bot", "--config", str(conf)]
                timed(bot + ["db", "upgrade"], tree, env)  # not timed: a database exists
                for label, cmd in (("ticketbot --help", ["--help"]),
                                   ("mail fetch --once, empty mailbox",
                                    ["mail", "fetch", "--once"]),
                                   ("mail send --once, empty queue",
                                    ["mail", "send", "--once"])):
                    rows.append((label, name, *median(bot + cmd, tree, env, args.repeat)))
        print()
        print(f"{'command':<34}{'tree':<16}{'wall s':>8}{'CPU s':>8}")
        for label, name, wall, cpu in sorted(rows, key=lambda r: r[0]):
            print(f"{label:<34}{name:<16}{wall:8.3f}{cpu:8.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
