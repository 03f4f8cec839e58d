"""What Coprod sends on its own (reminders, prompts, follow-ups, broadcasts) through
every channel this process can write to; run by the bridge process, with or without
a Telegram token."""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Awaitable, Callable

from bot.broadcaster import Broadcaster
from bot.channels import Channel, Channels
from bot.config import Settings
from bot.db import Database
from bot.scheduler import Scheduler
from bot.services.notifications import Rules
from bot.webchat.channel import WebChannel
from bot.webchat.push import WebPush

logger = logging.getLogger(__name__)


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


async def run_without_telegram(settings: Settings) -> None:
    """No TELEGRAM_TOKEN: reminders and broadcasts still reach web chat citizens."""
    db = Database(settings.database_url)
    rules = Rules.from_settings(settings)
    timer = scheduler(settings, db, rules)
    sender = broadcaster(settings, db, rules)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    timer.start()
    sending = asyncio.create_task(sender.run())
    logger.info("sending reminders and broadcasts to web chat citizens (no Telegram)")
    try:
        await stop.wait()
    finally:
        await sender.stop()
        sending.cancel()
        await timer.stop()
        db.dispose()
