"""The python-telegram-bot application: our own base URL (Telegram's, a self-hosted Bot API
server, or the tests' fake), AIORateLimiter with retries switched on (its default is 0), and
no PTB Updater: the poller in `poller.py` journals updates before confirming them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from config.settings import TelegramConfig

TelegramApp = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's limits (PTB wiki "Avoiding flood limits"); 0 switches a limit off."""

    overall_per_second: float = 30
    group_per_minute: float = 20
    # A 429 is retried this many times in place before the outbox takes over.
    max_retries: int = 3


class UpdatesRequest(HTTPXRequest):
    """The HTTP client of getUpdates (and of nothing else), keeping each answer's body: the
    journal stores the updates as Telegram sent them, without re-serialising PTB objects
    (which cost a third of the time of a burst)."""

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1, read_timeout=10, connect_timeout=10)
        self._last: bytes = b""

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE,
                         write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, request_data, read_timeout,
                                                 write_timeout, connect_timeout, pool_timeout)
        self._last = payload
        return code, payload

    def raw_updates(self) -> dict[int, dict[str, Any]]:
        """update id -> the update's JSON, from the last getUpdates answer."""
        try:
            result = json.loads(self._last).get("result") or []
        except ValueError:
            return {}
        return {int(u["update_id"]): u for u in result if isinstance(u, dict)}


@dataclass(frozen=True)
class Transport:
    app: TelegramApp
    updates: UpdatesRequest


def build_application(cfg: TelegramConfig, limits: FloodLimits) -> Transport:
    if not cfg.token:
        raise ValueError("no Telegram bot token configured")
    limiter = AIORateLimiter(overall_max_rate=limits.overall_per_second, overall_time_period=1,
                             group_max_rate=limits.group_per_minute, group_time_period=60,
                             max_retries=limits.max_retries)
    updates = UpdatesRequest()
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = Application.builder()
    app = (builder.token(cfg.token)
           .base_url(f"{cfg.api_url}/bot").base_file_url(f"{cfg.api_url}/file/bot")
           .rate_limiter(limiter).updater(None).concurrent_updates(False)
           .connect_timeout(10).read_timeout(20).write_timeout(20)
           .get_updates_request(updates)
           .build())
    return Transport(app, updates)
