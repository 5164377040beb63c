"""What ships for running it as a service and for setting up the tests: the systemd unit
(verified by systemd-analyze), its secrets file, and the Dovecot install script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support_cli import ENTRY

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "ticketbot.service"


def _directives(text: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+)=(.*)$", text, re.MULTILINE))


def test_the_unit_restarts_on_failure_as_a_user_with_a_data_folder_and_secrets() -> None:
    unit = _directives(UNIT.read_text())
    assert unit["Restart"] == "on-failure"
    assert unit["User"] not in ("", "root") and unit["Group"] == unit["User"]
    assert unit["StateDirectory"] == "ticketbot"
    assert unit["WorkingDirectory"] == "/var/lib/ticketbot"  # data/ lives here
    assert unit["EnvironmentFile"] == "/etc/ticketbot/ticketbot.env"
    assert unit["ExecStart"].endswith("/bin/ticketbot run")
    assert unit["ExecReload"] == "/bin/kill -HUP $MAINPID"  # `systemctl reload`: bot/serve.py


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        reason = "systemd-analyze is missing (apt-get install systemd; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # The same unit, with ExecStart pointing at this checkout's installed entry point
    # (verify insists the command exists).
    text = UNIT.read_text()
    assert "/opt/ticketbot/venv/bin/ticketbot" in text
    unit = tmp_path / "ticketbot.service"
    unit.write_text(text.replace("/opt/ticketbot/venv/bin/ticketbot", str(ENTRY)))
    done = subprocess.run([tool, "verify", "--man=no", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "")


def test_the_secrets_file_names_only_variables_the_settings_read() -> None:
    known = set(re.findall(r"TICKETBOT_[A-Z_]+", (ROOT / "config" / "settings.py").read_text()))
    example = (ROOT / "deploy" / "ticketbot.env.example").read_text()
    named = set(re.findall(r"^#? ?(TICKETBOT_[A-Z_]+)=", example, re.MULTILINE))
    assert named == known - {"TICKETBOT_CONFIG"}


def test_the_dovecot_install_checks_every_part_the_tests_start(tmp_path: Path) -> None:
    """With `dovecot` and `doveadm` present but no LMTP server, the script installs; with
    all three present it does nothing. Run against fake commands on PATH; apt-get is a fake
    that records what it was asked."""
    bin_dir, lib = tmp_path / "bin", tmp_path / "lib"
    bin_dir.mkdir()
    asked = tmp_path / "asked"
    for name in ("dovecot", "doveadm"):
        _fake(bin_dir / name, "exit 0")
    _fake(bin_dir / "apt-get", f'echo "$@" >> {asked}')
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "DOVECOT_LIBEXEC": str(lib)}
    script = ROOT / "scripts" / "install-dovecot.sh"
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=30)
    assert "install -y -qq dovecot-imapd dovecot-lmtpd" in asked.read_text()
    asked.unlink()
    lib.mkdir()
    _fake(lib / "imap", "exit 0")  # dovecot-imapd without dovecot-lmtpd: still installs
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=30)
    assert "dovecot-lmtpd" in asked.read_text()
    asked.unlink()
    for name in ("imap", "lmtp"):
        _fake(lib / name, "exit 0")
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=30)
    assert not asked.exists()


def _fake(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_entry_point_is_this_interpreters() -> None:
    assert ENTRY.parent == Path(sys.executable).parent and ENTRY.exists()
