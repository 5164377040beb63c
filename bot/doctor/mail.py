"""Mail: the SMTP intake's port is free, the IMAP login and folders work, the SMTP relay
connects and takes the login."""

from __future__ import annotations

import os
import socket

from bot.doctor import FAIL, OFF, OK, WARN, Finding
from bot.pidfile import data_dir, running_pid
from config.settings import Settings


async def intake_port(settings: Settings) -> list[Finding]:
    name = "smtp intake"
    cfg = settings.email
    if cfg.listen_port is None:
        return [Finding(name, OFF, "switched off ([email.smtp_intake] enabled = false)")]
    where = f"{cfg.listen_host}:{cfg.listen_port}"
    try:
        with socket.create_server((cfg.listen_host, cfg.listen_port), reuse_port=False):
            pass
    except OSError as exc:
        pid = running_pid(data_dir(settings))
        if pid is not None:
            return [Finding(name, OK, f"{where} is in use, by the running service (pid {pid})")]
        return [Finding(name, FAIL, f"email.listen_port: cannot listen on {where} "
                                    f"({os.strerror(exc.errno) if exc.errno else exc}); free the port, choose another "
                                    f"one, or set [email.smtp_intake] enabled = false")]
    return [Finding(name, OK, f"{where} is free for {cfg.address}")]


async def imap(settings: Settings) -> list[Finding]:
    from bot.channels.email.receive.imap import ImapSession, quoted

    name = "imap"
    cfg = settings.email.imap
    if cfg is None:
        return [Finding(name, OFF, "no [email.imap] (or enabled = false): mail arrives by "
                                   "the SMTP intake only")]
    where = f"{cfg.user} at {cfg.host}:{cfg.port}"
    session = ImapSession(cfg, timeout=10)
    try:
        try:
            await session.open()
        except Exception as exc:
            return [Finding(name, FAIL, f"{where}: {_why(exc)}: check [email.imap] host, port, "
                                        f"tls, user, mailbox and TICKETBOT_IMAP_PASSWORD")]
        found = [Finding(name, OK, f"{where}, folder {cfg.mailbox!r} opened")]
        if cfg.move_to is not None:
            status = await session.command().status(quoted(cfg.move_to), "(MESSAGES)")
            if status.result != "OK":
                found.append(Finding(name, FAIL, f"email.imap.move_to: no folder "
                                                 f"{cfg.move_to!r} on {cfg.host}: create it "
                                                 f"or fix the name"))
            else:
                found.append(Finding(name, OK, f"folder {cfg.move_to!r} (move_to) exists"))
        return found
    finally:
        await session.close()


async def relay(settings: Settings) -> list[Finding]:
    import aiosmtplib

    from bot.channels.email.deliver.sender import smtp_client

    name = "smtp relay"
    cfg = settings.email.smtp
    if cfg is None:
        return [Finding(name, WARN, "no [email.smtp]: acknowledgements and notices stay "
                                    "queued until a relay is configured")]
    where = f"{cfg.host}:{cfg.port} ({cfg.tls})"
    client = smtp_client(cfg)
    try:
        await client.connect()
    except aiosmtplib.SMTPAuthenticationError as exc:
        return [Finding(name, FAIL, f"{where} refused the login as {cfg.user} ({exc.code}): "
                                    f"check [email.smtp] user and TICKETBOT_SMTP_PASSWORD")]
    except Exception as exc:
        return [Finding(name, FAIL, f"cannot connect to {where}: {_why(exc)}: check "
                                    f"[email.smtp] host, port and tls")]
    try:
        login = f", logged in as {cfg.user}" if cfg.user else " (no login configured)"
        return [Finding(name, OK, f"{where} answers{login}")]
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
