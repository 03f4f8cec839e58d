"""What Coprod sends on its own (reminders, prompts, follow-ups, broadcasts) through
every channel this process can write to; run by the bridge process, with or without
a Telegram token.

With several bridge processes, one at a time does it: the one holding the
`outgoing` lease, renewed every second and lapsing after LEASE_SECONDS, so
another takes over within seconds of its death (a clean stop hands it over at
once). One sender at a time also keeps the broadcast rate under Telegram's limit.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any, Awaitable, Callable

from bot.broadcaster import Broadcaster
from bot.channels import Channel, Channels
from bot.config import Settings
from bot.db import Database
from bot.background import process_tag, spawn
from bot.scheduler import Scheduler
from bot.services import leases
from bot.services.notifications import Rules
from bot.webchat.channel import WebChannel
from bot.webchat.push import WebPush

logger = logging.getLogger(__name__)

LEASE = "outgoing"
LEASE_SECONDS = 5.0
RENEW_SECONDS = 1.0


def web_channel(settings: Settings, db: Database) -> WebChannel:
    push = WebPush(settings.webpush_private_key, settings.webpush_contact) if settings.webpush_private_key else None
    return WebChannel(db, push)


def scheduler(settings: Settings, db: Database, rules: Rules, *channels: Channel) -> Scheduler:
    return Scheduler(
        db, Channels(web_channel(settings, db), *channels), rules, settings.timezone,
        settings.scheduler_tick_seconds, media_dir=settings.media_dir,
        tracker_url=settings.tracker_url, conversation_days=settings.conversation_retention_days,
    )


def broadcaster(
    settings: Settings, db: Database, rules: Rules, *channels: Channel,
    progress: Callable[[], Awaitable[None]] | None = None,
) -> Broadcaster:
    return Broadcaster(db, Channels(web_channel(settings, db), *channels), rules, progress=progress)


class OutgoingWork:
    """The scheduler and the broadcaster of this process, running only while it holds
    the lease; made afresh each time it takes over (they settle what a crash left)."""

    def __init__(
        self, db: Database, make_scheduler: Callable[[], Scheduler], make_broadcaster: Callable[[], Broadcaster],
    ) -> None:
        self.db = db
        self.holder = process_tag()
        self._make_scheduler = make_scheduler
        self._make_broadcaster = make_broadcaster
        self.scheduler: Scheduler | None = None
        self.broadcaster: Broadcaster | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    def poke(self) -> None:
        """A broadcast was confirmed or cancelled (in this process)."""
        if self.broadcaster is not None:
            self.broadcaster.poke()

    async def run(self) -> None:
        """Until stopped: hold the lease and do the work, or wait to take over."""
        while not self._stopping.is_set():
            try:
                held = await asyncio.to_thread(self._hold)
            except Exception:
                logger.exception("could not renew the outgoing lease")
                held = False
            if self._stopping.is_set():  # stopped while asking: start nothing
                break
            if held and not self.leading:
                await self._take_over()
            elif not held and self.leading:
                logger.warning("another process took over reminders and broadcasts")
                await self._stand_down()
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=RENEW_SECONDS)
            except asyncio.TimeoutError:
                pass

    async def stop(self) -> None:
        self._stopping.set()
        if self.leading:
            await self._stand_down()
            await asyncio.to_thread(self._let_go)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _take_over(self) -> None:
        """Start the scheduler (it settles what the last holder left) and the broadcaster;
        if that fails (the database went away), give the lease back and try again later."""
        logger.info("this process sends reminders and broadcasts (%s)", self.holder)
        try:
            self._start_scheduler()  # APScheduler binds to this loop
            self.broadcaster = self._make_broadcaster()
            spawn(self.broadcaster.run(), self._tasks, "sending broadcasts")
        except Exception:
            logger.exception("could not start sending reminders and broadcasts; trying again")
            await self._stand_down()
            try:
                await asyncio.to_thread(self._let_go)
            except Exception:
                logger.warning("could not give the outgoing lease back; it lapses in %s s", LEASE_SECONDS)

    def _start_scheduler(self) -> None:
        scheduler = self._make_scheduler()
        scheduler.start()
        self.scheduler = scheduler

    async def _stand_down(self) -> None:
        scheduler, broadcaster = self.scheduler, self.broadcaster
        self.scheduler = self.broadcaster = None
        if broadcaster is not None:
            await broadcaster.stop()
        if scheduler is not None:
            await scheduler.stop()

    def _hold(self) -> bool:
        with self.db.session() as session:
            return leases.hold(session, LEASE, self.holder, timedelta(seconds=LEASE_SECONDS))

    def _let_go(self) -> None:
        with self.db.session() as session:
            leases.let_go(session, LEASE, self.holder)


async def run_without_telegram(settings: Settings) -> None:
    """No TELEGRAM_TOKEN: reminders and broadcasts still reach web chat citizens."""
    db = Database(settings.database_url)
    rules = Rules.from_settings(settings)
    work = OutgoingWork(db, lambda: scheduler(settings, db, rules), lambda: broadcaster(settings, db, rules))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = asyncio.create_task(work.run())
    logger.info("sending reminders and broadcasts to web chat citizens (no Telegram)")
    try:
        await stop.wait()
    finally:
        await work.stop()
        await running
        db.dispose()
