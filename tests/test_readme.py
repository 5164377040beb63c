"""The README, as a new admin follows it: its run command (a fresh venv, `pip install .`,
`ticketbot run`) in a copy of this checkout, then its "Try it" steps word for word: the
mail, `ticket list`, `ticket show 1` and `export`. pip's cache makes the install quick."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from tests.support_cli import Service, clean_env

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
INSTALL_WAIT = 300.0  # a fresh venv with every dependency, an upper bound


def _block_after(marker: str) -> list[str]:
    """The lines of the first ```sh block after `marker`."""
    rest = README[README.index(marker):]
    found = re.search(r"```sh\n(.*?)```", rest, re.DOTALL)
    assert found, marker
    return [line for line in found.group(1).splitlines() if line.strip()]


def _copy_of_checkout(target: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


async def _sh(line: str, cwd: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", line, cwd=cwd, env=clean_env(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, f"{line}\n{err.decode()}"
    return out.decode()


async def test_the_readme_run_command_and_try_it_steps_work(tmp_path: Path) -> None:
    [run] = _block_after("**Run the service**")
    mail, listing, show, export = _block_after("## Try it")
    assert run.endswith(".venv/bin/ticketbot run") and "pip install -q ." in run
    assert (listing, show) == (".venv/bin/ticketbot ticket list", ".venv/bin/ticketbot ticket show 1")
    assert _port_free(2525), "the README's service listens on 127.0.0.1:2525: something else holds it"
    home = _copy_of_checkout(tmp_path / "ticketbot")
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", run, cwd=home, env=clean_env(),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        start_new_session=True)
    service = Service(proc)
    reader = asyncio.create_task(service._read())
    try:
        await service.line(lambda x: "SMTP listening on 127.0.0.1:2525" in x, INSTALL_WAIT)
        await _sh(mail, home)
        await service.line(lambda x: "#1 opened by" in x)  # the mail became ticket #1
        out = await _sh(listing, home)
        assert re.search(r"#1\b.*Printer jams", out), out
        shown = (await _sh(show, home)).splitlines()
        assert shown[0] == "#1 Printer jams  [open]"
        await _sh(export, home)
        data = json.loads((home / "export.json").read_text())
        [ack] = [r for r in data["outbound"] if r["kind"] == "ack"]
        # As the README says: queued (no relay), with the headers it will be sent with.
        assert ack["sent_at"] is None and ack["recipient"] == "carl@example.com"
        assert ack["headers_to_send"]["in-reply-to"] == "<1@example.com>"
        assert ack["headers_to_send"]["subject"].startswith("[#1] ")
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGTERM)  # bash and the service it started
        await asyncio.wait_for(proc.wait(), 60)
        await reader
    assert "stopped" in service.lines[-1]
