"""What every CLI command prints: result lines on stdout, errors on stderr, JSON."""

from __future__ import annotations

import json
import sys


def say(line: str) -> None:
    """A result line on stdout."""
    sys.stdout.write(line + "\n")


def complain(line: str) -> None:
    """An error line on stderr, named after the command."""
    sys.stderr.write(f"ticketbot: {line}\n")


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
