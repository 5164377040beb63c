"""The cron loop as a user runs it, beside django-helpdesk in the same run.

Run as root from the project root (Dovecot drops privileges):

    .venv/bin/python -m bench.cron_loop [-n 2000] [--rounds 5] [--quick] [--no-peer] [--one-way]

1. A corpus of issue 15's mix is generated: plain and HTML mails of 0.3-30 KB, a third in
   Russian (half of those KOI8-R), 1 in 14 with a PDF-like attachment of 50-300 KB, and in
   every round after the first, replies (a fifth of the round) that quote an
   acknowledgement the relay really received in an earlier round (its Message-ID,
   subject and text).
2. Each round delivers its mails over LMTP to a throw-away Dovecot (mailbox u1 for
   ticketbot, u2 for the peer, u3 for ticketbot run the two-command way; the same bytes),
   then runs, as cron would: `ticketbot --config X mail fetch --once --send` (one process,
   the README's cron line), and on u3 `mail fetch --once`, then `mail send --once`, each
   its own process. The acks go to local relays (aiosmtpd in this process).
3. The peer: django-helpdesk 2.6.1 in its own venv (made once under
   /tmp/ticketbot-bench-cache), SQLite, one IMAP queue on u2; each round runs its published
   command `manage.py get_email`, which sends its acks to a second relay in this process.
4. Our modules are byte-compiled first, as `pip install` leaves them.
5. Printed: mails/s end to end (from the round's delivery to the last ack handed to the
   relay, summed over the rounds), CPU of the child processes per mail, and an empty
   poll (the same commands on an empty mailbox: wall and CPU, median of 3).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.support_email import Dovecot, free_port, running_dovecot

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = "support@help.example.com"
CACHE = Path(os.environ.get("TICKETBOT_BENCH_CACHE", "/tmp/ticketbot-bench-cache"))
HELPDESK = "django-helpdesk==2.6.1"
TICKETBOT = ROOT / ".venv/bin/ticketbot"

# ------------------------------------------------------------------ the corpus

EN = ["The printer on the third floor jams on every second page.",
      "I cannot log in to the VPN since this morning; it says the certificate expired.",
      "Please add Maria to the accounting shared folder, she starts on Monday.",
      "The invoice you sent has the wrong VAT number, could you correct it?",
      "Our order 4471 has not arrived yet, the tracking page shows no update.",
      "Outlook keeps asking for my password every ten minutes."]
RU = ["Принтер на третьем этаже зажёвывает каждую вторую страницу.",
      "Не могу подключиться к VPN с утра, пишет, что сертификат истёк.",
      "Добавьте, пожалуйста, Марию в общую папку бухгалтерии, она выходит в понедельник.",
      "В счёте, который вы прислали, неверный ИНН, исправьте, пожалуйста.",
      "Наш заказ 4471 до сих пор не пришёл, на странице отслеживания нет обновлений.",
      "Почта постоянно спрашивает пароль, каждые десять минут."]
SUBJECTS_EN = ["Printer jams", "VPN down", "Access request", "Invoice error", "Order late",
               "Password prompts"]
SUBJECTS_RU = ["Принтер зажёвывает бумагу", "Не работает VPN", "Запрос доступа",
               "Ошибка в счёте", "Заказ задерживается", "Постоянно спрашивает пароль"]


def _pdf(rng: random.Random, size: int) -> bytes:
    """PDF-like bytes: a header, incompressible streams, a trailer."""
    body = rng.randbytes(size - 64)
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + body + b"\n%%EOF\n"


def _text(rng: random.Random, russian: bool, size: int) -> str:
    lines = RU if russian else EN
    out: list[str] = []
    while sum(len(s) for s in out) < size:
        out.append(rng.choice(lines))
    return "\n\n".join(textwrap.fill(s, 72) for s in out) + "\n"


def new_mail(rng: random.Random, i: int, tag: str) -> bytes:
    """One request: a third Russian (half of those KOI8-R), a quarter with HTML, 1 in 14 with
    a PDF."""
    russian = i % 3 == 0
    charset = ("koi8-r" if i % 6 == 0 else "utf-8") if russian else "utf-8"
    m = EmailMessage(policy=SMTP_POLICY)
    m["From"] = f"Client {i % 700} <client{i % 700}@org{i % 97}.example>"
    m["To"] = SUPPORT
    subjects = SUBJECTS_RU if russian else SUBJECTS_EN
    m["Subject"] = f"{rng.choice(subjects)} {i}"
    m["Message-ID"] = f"<{tag}.{i}@client.example>"
    m["Date"] = "Fri, 04 Dec 2026 10:00:00 +0000"
    size = int(rng.choice([300, 800, 2000, 4000, 8000, 15000, 30000]) * rng.uniform(0.7, 1.3))
    text = _text(rng, russian, size)
    m.set_content(text, charset=charset)
    if i % 4 == 1:
        html = "<html><body>" + "".join(f"<p>{p}</p>" for p in text.split("\n\n")) + \
               "</body></html>"
        m.add_alternative(html, subtype="html", charset=charset)
    if i % 14 == 5:
        m.add_attachment(_pdf(rng, rng.randint(50_000, 300_000)), maintype="application",
                         subtype="pdf", filename=f"scan-{i}.pdf")
    return m.as_bytes()


def reply_to_ack(rng: random.Random, ack: bytes, i: int, tag: str) -> bytes:
    """The requester answers the acknowledgement they got, quoting it as mail clients do."""
    got = message_from_bytes(ack, policy=default)
    assert isinstance(got, EmailMessage)
    part = got.get_body(("plain",))
    quoted = "".join(f"> {line}\n" for line in (part.get_content() if part else "").splitlines())
    russian = any("а" <= c <= "я" for c in str(got["Subject"]).lower())
    m = EmailMessage(policy=SMTP_POLICY)
    m["From"] = str(got["To"])
    m["To"] = SUPPORT
    m["Subject"] = "Re: " + str(got["Subject"])  # decoded by policy.default
    m["Message-ID"] = f"<{tag}.r{i}@client.example>"
    m["In-Reply-To"] = str(got["Message-ID"])
    m["References"] = str(got["Message-ID"])
    m["Date"] = "Fri, 04 Dec 2026 11:00:00 +0000"
    text = (rng.choice(RU) if russian else rng.choice(EN)) + "\n\n" + quoted
    m.set_content(text, charset="utf-8")
    # Headers unfolded: the stdlib folder drops a space where it splits Cyrillic encoded words.
    return m.as_bytes(policy=SMTP_POLICY.clone(max_line_length=998))


# ------------------------------------------------------------------ the relays

@dataclass
class Relay:
    """An SMTP relay that keeps what it is handed, and when the last one came."""

    received: list[bytes] = field(default_factory=list)
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(envelope.original_content or envelope.content)
            self.last = time.perf_counter()
        return "250 2.0.0 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


def start_relay() -> tuple[Relay, Controller, int]:
    relay = Relay()
    port = free_port()
    ctl = Controller(relay, hostname="127.0.0.1", port=port)
    ctl.start()
    return relay, ctl, port


# ------------------------------------------------------------------ running commands

def byte_compile() -> None:
    """Our modules byte-compiled, as `pip install` leaves them (and the peer's venv has them):
    run from a checkout with PYTHONDONTWRITEBYTECODE set, every process would compile
    every module again (~0.35 s of CPU each)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "bot", "engine", "config"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> str:
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stdout}{out.stderr}")
    return out.stdout


@dataclass
class Contender:
    """One side: its mailbox, its relay, and the commands one cron round runs."""

    name: str
    user: str
    relay: Relay
    commands: list[list[str]]
    env: dict[str, str]
    cwd: Path
    wall: float = 0.0
    cpu: float = 0.0
    mails: int = 0

    def round(self) -> tuple[float, float]:
        c0, t0 = children_cpu(), time.perf_counter()
        for cmd in self.commands:
            run(cmd, self.env, self.cwd)
        return time.perf_counter() - t0, children_cpu() - c0


def imap_config(path: Path, database: Path, dv: Dovecot, user: str, relay_port: int) -> Path:
    """A config as a cron user writes one: IMAP from Dovecot, acks to a relay, no chat."""
    path.write_text(textwrap.dedent(f"""\
        [service]
        database_url = "sqlite+aiosqlite:///{database}"
        [email]
        address = "{SUPPORT}"
        [email.smtp_intake]
        enabled = false
        [email.imap]
        host = "127.0.0.1"
        port = {dv.imap_port}
        tls = "none"
        user = "{user}"
        [email.smtp]
        host = "127.0.0.1"
        port = {relay_port}
        tls = "none"
        [telegram]
        enabled = false
        """))
    return path


def ticketbot_side(work: Path, dv: Dovecot, user: str, *, two_commands: bool) -> Contender:
    """`mail fetch --once --send` (one process a round, the README's cron line), or the
    two commands `mail fetch --once` and `mail send --once`."""
    relay, _, port = start_relay()
    name = "ticketbot, 2 commands" if two_commands else "ticketbot"
    home = work / name.replace(", ", "-").replace(" ", "-")
    home.mkdir()
    conf = imap_config(home / "ticketbot.toml", home / "ticketbot.db", dv, user, port)
    env = {**os.environ, "TICKETBOT_IMAP_PASSWORD": "secret", "TICKETBOT_SECRET": "bench"}
    base = [str(TICKETBOT), "--config", str(conf), "mail"]
    commands = [base + ["fetch", "--once"], base + ["send", "--once"]] if two_commands \
        else [base + ["fetch", "--once", "--send"]]
    return Contender(name, user, relay, commands, env, home)


# ------------------------------------------------------------------ django-helpdesk

SETTINGS = """\
SECRET_KEY = "bench"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
ROOT_URLCONF = "urls"
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.sites",
    "django.contrib.staticfiles", "django.contrib.humanize", "rest_framework", "helpdesk",
]
HELPDESK_TEAMS_MODE_ENABLED = False
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [],
              "APP_DIRS": True, "OPTIONS": {"context_processors": [
                  "django.template.context_processors.request",
                  "django.contrib.auth.context_processors.auth",
                  "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "DBPATH"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
STATIC_URL = "/static/"
MEDIA_ROOT = "MEDIAPATH"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = RELAYPORT
DEFAULT_FROM_EMAIL = "SUPPORT"
SERVER_EMAIL = "SUPPORT"
LOGGING = {"version": 1, "disable_existing_loggers": True}
"""


def helpdesk_venv() -> Path:
    """django-helpdesk in a venv of its own, made once and kept under CACHE."""
    venv = CACHE / "helpdesk-2.6.1"
    python = venv / "bin/python"
    if not (venv / ".ok").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", HELPDESK], check=True)
        (venv / ".ok").write_text(HELPDESK)
    return python


def helpdesk_side(work: Path, dv: Dovecot, user: str) -> Contender:
    python = helpdesk_venv()
    relay, _, port = start_relay()
    site = work / "helpdesk"
    site.mkdir()
    (site / "settings.py").write_text(
        SETTINGS.replace("DBPATH", str(site / "db.sqlite3"))
        .replace("MEDIAPATH", str(site / "media")).replace("RELAYPORT", str(port))
        .replace("SUPPORT", SUPPORT))
    (site / "urls.py").write_text(
        "from django.urls import include, path\n"
        "urlpatterns = [path('helpdesk/', include('helpdesk.urls', namespace='helpdesk'))]\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": str(site)}
    manage = [str(python), "-m", "django"]
    run(manage + ["migrate", "-v", "0"], env, site)
    run(manage + ["shell", "-c", textwrap.dedent(f"""\
        from helpdesk.models import Queue
        Queue.objects.create(title="Support", slug="support", email_address="{SUPPORT}",
            allow_email_submission=True, email_box_type="imap", email_box_host="127.0.0.1",
            email_box_port={dv.imap_port}, email_box_ssl=False, email_box_user="{user}",
            email_box_pass="secret", email_box_imap_folder="INBOX", email_box_interval=0)
        """)], env, site)
    return Contender("django-helpdesk 2.6.1", user, relay, [manage + ["get_email"]], env, site)


# ------------------------------------------------------------------ the run

def round_mails(rng: random.Random, n: int, first: int, acks: list[bytes],
                tag: str) -> list[bytes]:
    replies = min(len(acks), n // 5)
    out = [reply_to_ack(rng, a, first + k, tag) for k, a in enumerate(rng.sample(acks, replies))]
    out += [new_mail(rng, first + k, tag) for k in range(n - replies)]
    rng.shuffle(out)
    return out


def play(dv: Dovecot, sides: list[Contender], n: int, rounds: int) -> None:
    rng = random.Random(15)
    tag = f"cron{time.time_ns()}"
    per = n // rounds
    size, replies, pdfs, koi8 = 0, 0, 0, 0
    for r in range(rounds):
        acks = sides[0].relay.received[:]  # ours: what a requester really received
        mails = round_mails(rng, per if r < rounds - 1 else n - per * r, r * per, acks, tag)
        size += sum(len(m) for m in mails)
        replies += sum(b"\r\nIn-Reply-To:" in m for m in mails)
        pdfs += sum(b"Content-Type: application/pdf" in m for m in mails)
        koi8 += sum(b'charset="koi8-r"' in m for m in mails)
        for side in sides:
            dv.deliver_lmtp(side.user, mails)
            before = side.relay.count()
            wall, cpu = side.round()
            side.wall, side.cpu, side.mails = side.wall + wall, side.cpu + cpu, \
                side.mails + len(mails)
            print(f"  round {r + 1}: {side.name:<22} {len(mails):5d} mails, "
                  f"{side.relay.count() - before:5d} mails to the relay, {wall:6.2f} s")
    print(f"corpus: {n} mails, {size / 1e6:.1f} MB, {rounds} rounds: {n - replies} requests "
          f"({koi8} in KOI8-R, {pdfs} with a PDF), {replies} replies quoting our acks")


def empty_poll(side: Contender) -> tuple[float, float]:
    walls, cpus = zip(*(side.round() for _ in range(3)), strict=True)
    return statistics.median(walls), statistics.median(cpus)


def report(sides: list[Contender]) -> None:
    polls = [empty_poll(s) for s in sides]
    print()
    print(f"{'':<24}{'mails/s':>9}{'CPU ms/mail':>13}{'empty poll s':>14}{'its CPU s':>11}"
          f"{'to relay':>10}")
    for side, (pw, pc) in zip(sides, polls, strict=True):
        print(f"{side.name:<24}{side.mails / side.wall:9.1f}{side.cpu / side.mails * 1000:13.1f}"
              f"{pw:14.2f}{pc:11.2f}{side.relay.count():10d}")
    peer = next((s for s in sides if not s.name.startswith("ticketbot")), None)
    if peer is not None:
        for side in (s for s in sides if s is not peer):
            print(f"ratio, {side.name} / {peer.name}: "
                  f"{side.mails / side.wall / (peer.mails / peer.wall):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="mails (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="cron rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="200 mails, 2 rounds")
    parser.add_argument("--no-peer", action="store_true", help="without django-helpdesk")
    parser.add_argument("--one-way", action="store_true",
                        help="without the two-command cron round")
    args = parser.parse_args()
    n, rounds = (200, 2) if args.quick else (args.n, args.rounds)
    if not TICKETBOT.exists():
        raise SystemExit(f"{TICKETBOT} is missing: install the project in .venv first")
    byte_compile()
    work = Path(tempfile.mkdtemp(prefix="ticketbot-cron-", dir="/tmp"))
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"Python {sys.version.split()[0]}")
    try:
        with running_dovecot(3) as dv:
            sides = [ticketbot_side(work, dv, "u1@example.test", two_commands=False)]
            if not args.no_peer:
                sides.append(helpdesk_side(work, dv, "u2@example.test"))
            if not args.one_way:
                sides.append(ticketbot_side(work, dv, "u3@example.test", two_commands=True))
            play(dv, sides, n, rounds)
            report(sides)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
