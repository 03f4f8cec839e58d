"""Build and run the python-telegram-bot application (long polling or webhook)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.config import Settings, require_strong
from bot.db import Database
from bot.i18n import SUPPORTED_LANGUAGES, channel_text
from bot.rasa_client import RasaClient
from bot import outgoing
from bot.services import roles
from bot.telegram.channel import TelegramChannel
from bot.telegram.coordinator import COMMANDS as COORDINATOR_COMMANDS
from bot.telegram.coordinator import CoordinatorFlow
from bot.services.notifications import Rules
from bot.telegram.bridge import Bridge, Timing
from bot.telegram.handlers import COMMANDS, Handlers
from bot.telegram.progress import ProgressMessages

logger = logging.getLogger(__name__)


def file_url(base_url: str) -> str:
    """`https://api.telegram.org/bot` → `https://api.telegram.org/file/bot` (also for self-hosted)."""
    root = base_url[: -len("/bot")] if base_url.endswith("/bot") else base_url.rstrip("/")
    return f"{root}/file/bot"


def build(settings: Settings) -> tuple[Application, Bridge]:
    database = Database(settings.database_url)
    timing = Timing(retry_interval=settings.inbox_retry_seconds, max_backoff=settings.inbox_max_backoff_seconds)
    bridge = Bridge(settings, database, RasaClient(settings.rasa_url), timing)
    rules = Rules.from_settings(settings)
    runners: dict[str, Any] = {}

    def poke() -> None:
        if "outgoing" in runners:
            runners["outgoing"].poke()

    coordinator = CoordinatorFlow(database, bridge, settings, rules, poke=poke)

    async def post_init(application: Application) -> None:
        bridge.bot = application.bot
        commands = [BotCommand(name, channel_text(f"commands.{name}")) for name in COMMANDS]
        await application.bot.set_my_commands(commands)
        for language in SUPPORTED_LANGUAGES:  # Telegram shows the menu of the app's language
            if language != "en":
                translated = [BotCommand(name, channel_text(f"commands.{name}", language)) for name in COMMANDS]
                await application.bot.set_my_commands(translated, language_code=language)
        bridge._later(bridge.retry_forever())
        with database.session() as session:
            roles.bootstrap(session, settings.coordinator_ids)
            coordinators = roles.holders(session, "coordinator")
        extra = [BotCommand(name, channel_text(f"commands.{name}")) for name in COORDINATOR_COMMANDS]
        for telegram_id in coordinators:
            try:
                await application.bot.set_my_commands(commands + extra, scope=BotCommandScopeChat(int(telegram_id)))
            except TelegramError as exc:
                logger.info("no command menu for coordinator %s: %s", telegram_id, exc)
        plain_bot = Bot(settings.telegram_token or "", settings.telegram_base_url, file_url(settings.telegram_base_url))
        await plain_bot.initialize()
        # Its own Bot, without PTB's rate limiter: the broadcaster paces itself and sees each 429.
        bulk = TelegramChannel(lambda: plain_bot, database, settings.media_dir, rate=settings.broadcast_rate)
        runners["outgoing"] = outgoing.OutgoingWork(
            database,
            lambda: outgoing.scheduler(settings, database, rules, bridge.notices),
            lambda: outgoing.broadcaster(settings, database, rules, bulk, progress=ProgressMessages(database, plain_bot, rules)),
        )
        runners["bot"] = plain_bot
        bridge._later(runners["outgoing"].run(), "sending reminders and broadcasts")
        logger.info("Telegram bridge ready as @%s", application.bot.username)

    async def post_shutdown(application: Application) -> None:
        if "outgoing" in runners:
            await runners["outgoing"].stop()
            await runners["bot"].shutdown()
        await bridge.close()
        database.dispose()

    application = (
        ApplicationBuilder()
        .token(settings.telegram_token or "")
        .base_url(settings.telegram_base_url)
        .base_file_url(file_url(settings.telegram_base_url))
        .rate_limiter(AIORateLimiter(max_retries=5))
        .concurrent_updates(True)
        .job_queue(None)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    Handlers(bridge, coordinator).register(application)
    return application, bridge


def run(settings: Settings) -> None:
    """Webhook mode when TELEGRAM_WEBHOOK_URL is set (the secret is then required), else polling."""
    application, _ = build(settings)
    asyncio.set_event_loop(asyncio.new_event_loop())
    if settings.telegram_webhook_url:
        require_strong("TELEGRAM_WEBHOOK_SECRET", settings.telegram_webhook_secret)
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_path,
            webhook_url=settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
