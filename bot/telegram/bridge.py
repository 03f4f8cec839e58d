"""Telegram's side of the inbound path: photos fetched from Telegram, replies sent
with their keyboards within Telegram's per-chat limit, pressed buttons marked."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot import channels
from bot.config import Settings
from bot.db import Database
from bot.i18n import channel_text
from bot.inbound import Inbound, Job, Timing
from bot.rasa_client import RasaClient
from bot.services import buttons, citizens, inbox
from bot.telegram import media
from bot.telegram.channel import TelegramChannel
from bot.telegram.replies import MAX_TEXT, Outgoing, keyboard, pieces, units
from bot.turns import Turns

logger = logging.getLogger(__name__)

# Telegram allows about one message per second in a private chat, with short bursts.
CHAT_BURST, CHAT_BURST_SECONDS = 3, 3.0
SEND_ATTEMPTS = 4
SENDS_AT_ONCE = 4
MAX_CAPTION = 1024

__all__ = ["Bridge", "Timing"]


class Bridge(Inbound):
    channel = "telegram"

    def __init__(self, settings: Settings, db: Database, rasa: RasaClient, timing: Timing = Timing()) -> None:
        super().__init__(settings, db, rasa, timing)
        self.bot: Bot | None = None
        self._chat_pace: dict[str, AsyncLimiter] = {}
        # PTB's limiter sends at most 30 a second, first come first served; few wait in it at once.
        self._sends = Turns(SENDS_AT_ONCE)
        # What the scheduler and coordinators send: at most once, paced per chat.
        self.notices = TelegramChannel(lambda: self.bot, db, settings.media_dir, pace=self.pace)

    async def _prepare(self, chat_id: str, job: Job, meta: dict[str, Any]) -> dict[str, Any] | None:
        if not meta.get("telegram_files"):
            return meta
        return await self._fetch_media(chat_id, job.sender, meta, job.consented)

    async def _fetch_media(
        self, chat_id: str, sender: str, meta: dict[str, Any], consented: bool
    ) -> dict[str, Any] | None:
        """Download photos of consenting citizens only; None means try again later."""
        files_dropped = {k: v for k, v in meta.items() if k != "telegram_files"}
        if not consented:
            return files_dropped
        refused = self.photos_refused(sender, len(meta.get("telegram_files") or []))
        if refused:
            await self.deliver(chat_id, Outgoing(channel_text(refused, self.language_of(sender))))
            return files_dropped
        try:
            return await media.resolve(self.bot, meta, self.settings.media_dir, self.settings.max_photo_bytes)
        except (media.FileTooBig, BadRequest):
            megabytes = self.settings.max_photo_bytes // 2**20
            await self.deliver(chat_id, Outgoing(channel_text("too_big", self.language_of(sender), megabytes=megabytes)))
            return files_dropped
        except (NetworkError, TimedOut):
            logger.warning("could not download media for chat %s", chat_id)
            return None

    async def act_on(self, press: buttons.Press, chat_id: str, sender: str, message: Message | None, key: str) -> None:
        """A valid press shows the choice and goes on as a message; an expired one offers help."""
        if press.status == "expired":  # the notice only for a first delivery of this press
            with self.db.session() as session:
                repeated = inbox.seen(session, key)
            if not repeated:
                await self.deliver(chat_id, Outgoing(channel_text("expired", self.language_of(sender))))
            await self.receive(inbox.Incoming(key, sender, chat_id, "/help", {}))
        elif press.status == "ok":
            await self.show_choice(message, press.title, sender)
            await self.receive(inbox.Incoming(key, sender, chat_id, press.payload, {}))

    async def show_choice(self, message: Message | None, title: str, sender: str) -> None:
        if message is not None:
            await self._show_choice(message, title, self.language_of(sender))

    async def _show_choice(self, message: Message, title: str, language: str) -> None:
        chosen = channel_text("chosen", language, title=title)
        await self.pace(str(message.chat_id))
        try:
            if message.text and units(message.text) + units(chosen) + 2 <= MAX_TEXT:
                await message.edit_text(f"{message.text}\n\n{chosen}", reply_markup=None)
            else:
                await message.edit_reply_markup(reply_markup=None)
        except (BadRequest, Forbidden) as exc:
            logger.info("could not mark the choice: %s", exc)

    async def pace(self, chat_id: str) -> None:
        """Wait for this chat's turn, so replies stay within Telegram's per-chat limit
        instead of provoking 429s (PTB's AIORateLimiter paces overall and group sends)."""
        if chat_id.startswith("-"):
            return
        limiter = self._chat_pace.get(chat_id)
        if limiter is None:
            limiter = self._chat_pace[chat_id] = AsyncLimiter(CHAT_BURST, CHAT_BURST_SECONDS)
        await limiter.acquire()

    async def deliver(self, chat_id: str, outgoing: Outgoing, tokens: list[str] | None = None) -> str:
        """Send one reply: `sent`, `refused` (Telegram said no), `blocked` (403, never
        retried; the citizen is marked) or `failed` (network trouble outlasted the retries).
        Replies are retried on timeouts: a second copy of an answer beats a lost one."""
        markup = keyboard(outgoing, tokens or [])
        for attempt in range(SEND_ATTEMPTS):
            await self.pace(chat_id)
            try:
                async with self._sends.turn(chat_id):  # past the global limit, the quiet chats go first
                    if outgoing.image:
                        caption = pieces(outgoing.text, MAX_CAPTION)[0]  # Telegram counts UTF-16 units
                        await self.bot.send_photo(int(chat_id), outgoing.image, caption=caption or None, reply_markup=markup)
                    else:
                        await self.bot.send_message(int(chat_id), outgoing.text, reply_markup=markup)
                return "sent"
            except Forbidden:
                logger.info("chat %s blocked the bot", chat_id)
                with self.db.session() as session:
                    citizens.mark_blocked(session, chat_id)
                return "blocked"
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
            except BadRequest:
                logger.exception("Telegram refused a message to chat %s", chat_id)
                return "refused"
            except (TimedOut, NetworkError):
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt))
        logger.error("could not reach Telegram for chat %s after %s attempts", chat_id, SEND_ATTEMPTS)
        return "failed"

    async def send_notice(self, chat_id: str, text: str, choices: list[tuple[str, str]]) -> channels.Delivery:
        """A coordinator's message, sent at most once; its buttons stay on the server."""
        return await self.notices.send(chat_id, channels.Message(text, choices))

    async def send_markup(self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None) -> str | None:
        """A message with a ready keyboard (progress messages); returns its id, None if it failed."""
        await self.pace(chat_id)
        try:
            message = await self.bot.send_message(int(chat_id), text, reply_markup=markup)
        except TelegramError as exc:
            logger.warning("could not send to chat %s: %s", chat_id, exc)
            return None
        return str(message.message_id)

    async def send_preview_photo(self, chat_id: str, file_id: str, caption: str) -> None:
        """Show a coordinator the photo of a broadcast as citizens will see it."""
        await self.pace(chat_id)
        try:
            await self.bot.send_photo(int(chat_id), file_id, caption=caption)
        except TelegramError as exc:
            logger.warning("could not show a preview in chat %s: %s", chat_id, exc)


def _seconds(value: object) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)  # type: ignore[arg-type]
