"""`ticketbot` starts fast (issue 15): `--help` lists every command without importing the
database, mail, Telegram or calendar libraries, a command imports only its own module's
parser, and a database already at the newest migration is checked with one SELECT."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS, build_parser
from engine.store.db import make_engine
from engine.store.migrate import alembic_config, upgrade
from engine.store.schema_head import at_head, head_revision

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "alembic", "aioimaplib", "aiosmtplib", "aiosmtpd", "telegram",
         "holidays", "engine.store")


def imported_by(argv: list[str]) -> tuple[str, set[str]]:
    """What `ticketbot ARGV` printed and which heavy modules it imported, in a fresh
    interpreter."""
    code = (f"import sys\nfrom bot.cli import main\ntry:\n    main({argv!r})\n"
            f"except SystemExit:\n    pass\n"
            f"print('MODULES', *sorted(m for m in sys.modules "
            f"if m.startswith({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    text, _, modules = out.rpartition("MODULES")
    return text, set(modules.split())


def test_help_lists_every_command_and_imports_no_heavy_library() -> None:
    text, heavy = imported_by(["--help"])
    assert heavy == set()
    for name in COMMANDS:
        assert f"    {name} " in text


def test_a_command_s_help_imports_no_database_library() -> None:
    text, heavy = imported_by(["mail", "--help"])
    assert "fetch" in text and "send" in text
    assert not {m for m in heavy if m.split(".")[0] in ("sqlalchemy", "aioimaplib", "telegram")}


def _help_lines(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {a.dest: a.help for a in sub._choices_actions}


def test_the_light_table_says_what_each_command_s_module_says() -> None:
    """`ticketbot --help` reads the table; a module registered alone (tests) its own lines."""
    for module in dict.fromkeys(m for m, _ in COMMANDS.values()):
        alone = argparse.ArgumentParser()
        importlib.import_module(module).register(alone.add_subparsers())
        for name, line in _help_lines(alone).items():
            assert COMMANDS[name] == (module, line)
    assert _help_lines(build_parser()) == {n: line for n, (_, line) in COMMANDS.items()}


@pytest.mark.parametrize("argv", [["--config", "x.toml", "mail", "send", "--once"],
                                  ["--log-format", "json", "ticket", "show", "3"],
                                  ["outbox", "retry", "7", "--config", "x.toml"]])
def test_the_named_command_parses_in_full(argv: list[str]) -> None:
    args = build_parser(argv).parse_args(argv)
    assert callable(args.func)


def test_an_unknown_command_is_refused_with_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        build_parser(["bogus"]).parse_args(["bogus"])
    assert stop.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err


def test_the_head_read_from_the_scripts_is_alembic_s() -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_a_database_at_the_head_is_known_with_one_select(db_url: str) -> None:
    db = make_engine(db_url)
    try:
        assert not await at_head(db)  # fresh: no version table, Alembic runs
        await upgrade(db_url)
        assert await at_head(db)
        await upgrade(db_url)  # again: nothing to do, nothing fails
        assert await at_head(db)
    finally:
        await db.dispose()
