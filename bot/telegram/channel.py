"""Telegram as a channel of the sending layer: buttons become callback tokens,
photos from the dashboard are uploaded once, and Telegram's errors become outcomes."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Awaitable, Callable

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.channels import Delivery, Message
from bot.db import Database
from bot.services import buttons, citizens
from bot.services.broadcasts import MEDIA_PREFIX
from bot.services.contributions import inside_media
from bot.telegram.replies import Outgoing, keyboard
from bot.telegram.sending import outcome_of

logger = logging.getLogger(__name__)

RETRY_BACKOFF = 2.0
MAX_CAPTION = 1024


class TelegramChannel:
    """Sends one message at most once: only what certainly did not arrive is `retry`
    (a 429 with its `retry_after`, a refused connection, a 5xx); a timeout may have
    delivered it, so it is `unknown`. A 403 marks the citizen blocked."""

    name = "telegram"

    def __init__(
        self,
        bot: Callable[[], Bot],
        db: Database,
        media_dir: Path | None = None,
        rate: float | None = None,
        pace: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._bot = bot
        self.db = db
        self.media_dir = media_dir
        self.rate = rate
        self._pace = pace
        self._uploaded: dict[str, str] = {}  # media path → Telegram's file id, after the first upload
        self._uploading: dict[str, asyncio.Lock] = {}

    async def send(self, address: str, message: Message) -> Delivery:
        photo = message.photo
        if photo and photo.startswith(MEDIA_PREFIX) and photo not in self._uploaded:
            # The first send uploads the file; the others wait for Telegram's file id.
            async with self._uploading.setdefault(photo, asyncio.Lock()):
                if photo not in self._uploaded:
                    return await self._send(address, message)
        return await self._send(address, message)

    async def _send(self, address: str, message: Message) -> Delivery:
        markup = await asyncio.to_thread(self._markup, address, message.buttons)
        if self._pace is not None:
            await self._pace(address)
        bot = self._bot()
        try:
            if message.photo:
                sent = await bot.send_photo(
                    int(address), self._photo(message.photo), caption=message.text[:MAX_CAPTION] or None,
                    reply_markup=markup,
                )
                if message.photo.startswith(MEDIA_PREFIX) and sent.photo:
                    self._uploaded[message.photo] = sent.photo[-1].file_id
            else:
                sent = await bot.send_message(int(address), message.text, reply_markup=markup)
            return Delivery("sent", sent.message_id)
        except TelegramError as exc:
            outcome, wait = outcome_of(exc)
            reason = str(exc)[:200]
        if outcome == "wait":
            logger.warning("Telegram asked to wait %.0f s", wait)
            return Delivery("retry", retry_in=wait, error=reason)
        if outcome == "retry":
            return Delivery("retry", retry_in=RETRY_BACKOFF, error=reason)
        if outcome == "blocked":
            await asyncio.to_thread(self._blocked, address)
        elif outcome == "refused":
            logger.warning("Telegram refused a message to chat %s: %s", address, reason)
        return Delivery(outcome, error=reason)

    def _markup(self, address: str, choices: list[tuple[str, str]]) -> InlineKeyboardMarkup | None:
        """Telegram carries only a short token; the payload stays in the database."""
        if not choices:
            return None
        with self.db.session() as session:
            tokens = buttons.issue(session, address, choices)
        return keyboard(Outgoing(buttons=choices), tokens)

    def _photo(self, photo: str) -> str | bytes:
        """A Telegram file id as it is; a dashboard upload as its bytes until Telegram has it."""
        if not photo.startswith(MEDIA_PREFIX):
            return photo
        if photo in self._uploaded:
            return self._uploaded[photo]
        path = inside_media(self.media_dir, photo[len(MEDIA_PREFIX):]) if self.media_dir else None
        if path is None or not path.is_file():
            raise BadRequest("the photo file is missing")
        return path.read_bytes()

    def _blocked(self, address: str) -> None:
        with self.db.session() as session:
            citizens.mark_blocked(session, address)
