"""The Telegram channel as a service of the bot: `telegram_services(rt, options)` for
`bot/bootstrap.py`, which also adds `telegram_reactors(settings)` (in `mirror.py`) to the bus."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

from telegram.error import NetworkError, TelegramError

from bot.channels.telegram import startup
from bot.channels.telegram.act.quick import QuickAnswers
from bot.channels.telegram.context import Desk, Me
from bot.channels.telegram.deliver.delivery import Delivery
from bot.channels.telegram.deliver.mirror import telegram_reactors
from bot.channels.telegram.deliver.outbound import Outbound, Reply, reply_item
from bot.channels.telegram.deliver.render import esc
from bot.channels.telegram.deliver.sender import Sender
from bot.channels.telegram.ports import ChatStore
from bot.channels.telegram.receive.poller import Poller
from bot.channels.telegram.receive.transport import (
    FloodLimits,
    TelegramApp,
    Transport,
    build_application,
)
from bot.channels.telegram.understand.firstline import DialogTracker
from bot.channels.telegram.understand.people import Directory
from bot.channels.telegram.understand.router import Router
from bot.commands.registry import COMMANDS
from bot.i18n import t
from bot.runtime import Runtime, Service
from config.settings import Settings
from engine.backoff import TELEGRAM_POLL, Backoff

log = logging.getLogger("ticketbot.telegram")

__all__ = ["Options", "TelegramService", "telegram_reactors", "telegram_services"]


@dataclass(frozen=True)
class Options:
    limits: FloodLimits = FloodLimits()
    poll_timeout: float = 25
    backoff: Backoff = TELEGRAM_POLL
    sender_idle_seconds: float = 1.0


def telegram_services(rt: Runtime, store: ChatStore,
                      options: Options = Options()) -> list[Service]:
    """[] when no bot token is configured."""
    if not rt.settings.telegram.token:
        return []
    return [TelegramService(rt, store, options)]


class TelegramService:
    name = "telegram"

    def __init__(self, rt: Runtime, store: ChatStore, options: Options = Options()) -> None:
        self.rt = rt
        self.store = store
        self.options = options
        self.app: TelegramApp | None = None
        self.transport: Transport
        self.poller: Poller | None = None
        self.sender: Sender | None = None
        self.desk: Desk | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # httpx logs every request URL at INFO, and a Bot API URL contains the token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.transport = build_application(self.rt.settings.telegram, self.options.limits)
        self.app = self.transport.app
        try:
            me = await startup.connect(self.app)
        except NetworkError as exc:
            # Mail keeps working while Telegram is out of reach; a bad token stops the start.
            log.error("Telegram is unreachable at start (%s); connecting in the background", exc)
            self._tasks = [asyncio.create_task(self._connect_later(), name="telegram-connect")]
            return
        await self._begin(me)

    async def _connect_later(self) -> None:
        assert self.app is not None
        failures = 0
        while True:
            failures += 1
            await asyncio.sleep(self.options.backoff.delay(failures))
            try:
                me = await startup.connect(self.app)
            except NetworkError:
                continue
            except startup.TelegramStartError as exc:
                log.error("%s", exc)
                return
            await self._begin(me)
            return

    async def _begin(self, me: Me) -> None:
        await self._drop_webhook()
        await self._assemble(me)
        assert self.poller is not None and self.sender is not None
        await self.poller.replay()
        self._tasks += [asyncio.create_task(self.sender.run(), name="telegram-sender"),
                        asyncio.create_task(self.poller.run(), name="telegram-poller"),
                        # Checks and the command menu need not hold up the first poll: on
                        # the real Bot API they are four or five round trips.
                        asyncio.create_task(self._settle_in(), name="telegram-setup")]
        log.info("telegram: polling as @%s", me.username)

    async def settled(self) -> None:
        """Until the start-up checks and the command menu are done (tests wait for them)."""
        for task in [t_ for t_ in self._tasks if t_.get_name() == "telegram-setup"]:
            await asyncio.shield(task)

    async def _settle_in(self) -> None:
        try:
            await self._check_setup()
            await self._publish_commands()
        except Exception:  # noqa: BLE001 - a check that fails must not stop the channel
            log.exception("telegram: the start-up checks failed")

    async def _assemble(self, me: Me) -> None:
        rt, app = self.rt, self.app
        assert app is not None
        store = self.store
        people = Directory(store, rt.bus, rt.views)
        await people.load()
        first_line = DialogTracker(store, rt.bus, dt.timedelta(
            minutes=rt.settings.telegram.dialog_window_minutes))
        chats = [c for c in (rt.settings.telegram.support_chat_id,) if c is not None]
        await first_line.load(chats)
        delivery = Delivery(app.bot, rt.settings, rt.views, rt.outbox, store, rt.bus.clock,
                            people.get)
        self.sender = Sender(rt.outbox, delivery, store, rt.bus.clock,
                             self.options.sender_idle_seconds)
        self.desk = Desk(settings=rt.settings, bus=rt.bus, views=rt.views, store=store,
                         people=people, first_line=first_line,
                         outbound=Outbound(rt.outbox, self.sender.wake), secret=rt.secret,
                         me=me, bot=app.bot, inbound=rt.inbound)
        router = Router(self.desk)
        quick = QuickAnswers(self.desk, delivery, reachable=router.reachable,
                             quiet=self.sender.quiet)
        self.poller = Poller(app.bot, self.transport.updates, store, rt.inbound,
                             router, first_line, rt.bus.clock,
                             timeout=self.options.poll_timeout, backoff=self.options.backoff,
                             quick=quick)

    async def _drop_webhook(self) -> None:
        """getUpdates answers 409 while a webhook is set; updates waiting are kept."""
        assert self.app is not None
        try:
            await self.app.bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as exc:
            log.warning("could not remove a webhook (%s); polling may be refused", exc)

    async def _check_setup(self) -> None:
        assert self.app is not None and self.desk is not None
        found = await startup.problems(self.app.bot, self.rt.settings.telegram,
                                       self.rt.settings.engine.desks.staff_chats())
        staff = self.rt.settings.telegram.staff_chat_id
        if "privacy" in found and staff is not None:
            lang = self.rt.settings.language
            day = self.desk.now().date().isoformat()
            await self.desk.outbound.enqueue(reply_item(
                f"tg:setup:privacy:{day}", _notice(staff, t(lang, "tg.setup.privacy")), lang))
        await self._unreachable_staff()

    async def _unreachable_staff(self) -> None:
        """Says in the staff chat which staff members the bot cannot write to privately,
        where their notices go instead, and how to fix it."""
        assert self.desk is not None
        staff = self.rt.settings.telegram.staff_chat_id
        if staff is None:
            return
        lines = unreachable_lines(self.rt.settings, await self.store.reachable(),
                                  self.desk.me.username)
        if lines:
            lang = self.rt.settings.language
            day = self.desk.now().date().isoformat()
            text = "\n".join([t(lang, "tg.setup.unreachable"), *lines])
            await self.desk.outbound.enqueue(reply_item(
                f"tg:setup:unreachable:{day}", _notice(staff, text), lang))

    async def _publish_commands(self) -> None:
        """The command menu Telegram shows, from the registry, in both languages."""
        assert self.app is not None
        for lang in ("en", "ru"):
            commands = [(s.name, s.summary.get(lang) or s.summary["en"])
                        for s in COMMANDS.values()]
            try:
                await self.app.bot.set_my_commands(
                    commands, language_code=None if lang == "en" else lang)
            except TelegramError as exc:
                log.info("could not publish the command menu: %s", exc)
                return

    async def directory_changed(self) -> None:
        """People and roles re-read after a reload of the config (bot/serve.py)."""
        if self.desk is not None:
            await self.desk.people.reload()

    def kick(self) -> None:
        """Look at the outbox now (after rows were queued outside this service)."""
        if self.sender is not None:
            self.sender.wake()

    async def stop(self) -> None:
        poller_tasks = [t_ for t_ in self._tasks if t_.get_name() != "telegram-sender"]
        for task in poller_tasks:
            task.cancel()
        await _settle(poller_tasks)
        if self.desk is not None:
            with contextlib.suppress(Exception):
                await self.desk.first_line.flush()
        if self.sender is not None:
            await self.sender.stop()
        await _settle(self._tasks)
        if self.app is not None:
            with contextlib.suppress(NetworkError):
                await self.app.shutdown()


def unreachable_lines(settings: Settings, reachable: set[int], bot: str) -> list[str]:
    """A line per staff member whose notices cannot go to a private chat."""
    lang, found = settings.language, []
    for p in settings.people:
        if p.role == "client" or p.notify_via in ("email", "none") or (
                p.telegram_id is not None and p.telegram_id in reachable):
            continue
        if p.emails:
            found.append(t(lang, "tg.setup.by_mail", name=p.name, address=p.emails[0], bot=bot))
        else:
            found.append(t(lang, "tg.setup.nowhere", name=p.name, bot=bot))
    return found


def _notice(chat_id: int, text: str) -> Reply:
    return Reply(chat_id=chat_id, html=esc(text))


async def _settle(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
