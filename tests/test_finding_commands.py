"""F17 command grammar (bot/commands/finding.py): what `/find`, `/queue`, `/merge`,
`/answer` and `/answers` build, in English and Russian, and their errors."""

from __future__ import annotations

import pytest

from bot.commands.registry import Built, CommandError, Query
from engine import commands as c
from tests.test_commands import ACTOR, NOW, run


@pytest.mark.parametrize(("text", "ticket", "expected"), [
    ("/find printer jams", None, Query("find", None, ("printer jams",))),
    ("/найти принтер\nnot this line", None, Query("find", None, ("принтер",))),
    ("/find", None, CommandError("find.missing_text")),
    ("/queue", None, Query("queue", None, ("unassigned",))),
    ("/queue all", None, Query("queue", None, ("all",))),
    ("/очередь просроченные", None, Query("queue", None, ("overdue",))),
    ("/queue mine", None, Query("queue", None, ("person", str(ACTOR)))),
    ("/queue later", None, CommandError("queue.unknown_view", {"value": "later"})),
    ("/queue @nobody_here", None, CommandError("unknown_person", {"who": "@nobody_here"})),
    ("/merge 3 #4", None, c.MergeTickets(actor=ACTOR, channel="telegram", at=NOW, ticket=3,
                                         source=4)),
    ("/merge 3", None, CommandError("merge.usage")),
    ("/merge 3 3", None, CommandError("merge.same", {"number": "3"})),
    ("/merge 3 x", None, CommandError("bad_number", {"value": "x"})),
    ("/answer 7 Restart", None, Query("answer", 7, ("restart",))),
    ("/шаблон restart", 9, Query("answer", 9, ("restart",))),
    ("/answer 7", None, CommandError("answer.missing_name")),
    ("/answer restart", None, CommandError("missing_ticket", {"command": "answer"})),
    ("/answers", None, Query("answers", None, ())),
])
def test_builds(text: str, ticket: int | None, expected: Built) -> None:
    assert run(text, ticket) == expected
