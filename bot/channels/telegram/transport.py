"""The python-telegram-bot application: our own base URL (Telegram's, a self-hosted Bot API
server, or the tests' fake), AIORateLimiter with retries switched on (its default is 0), and
no PTB Updater: the poller in `poller.py` journals updates before confirming them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from config.settings import TelegramConfig

TelegramApp = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's limits (PTB wiki "Avoiding flood limits"); 0 switches a limit off."""

    overall_per_second: float = 30
    group_per_minute: float = 20
    # A 429 is retried this many times in place before the outbox takes over.
    max_retries: int = 3


def build_application(cfg: TelegramConfig, limits: FloodLimits) -> TelegramApp:
    if not cfg.token:
        raise ValueError("no Telegram bot token configured")
    limiter = AIORateLimiter(overall_max_rate=limits.overall_per_second, overall_time_period=1,
                             group_max_rate=limits.group_per_minute, group_time_period=60,
                             max_retries=limits.max_retries)
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = Application.builder()
    return (builder.token(cfg.token)
            .base_url(f"{cfg.api_url}/bot").base_file_url(f"{cfg.api_url}/file/bot")
            .rate_limiter(limiter).updater(None).concurrent_updates(False)
            .connect_timeout(10).read_timeout(20).write_timeout(20)
            .build())
