"""The bridge's core: store each message, hand it to Rasa in order, deliver the replies.

Every message goes to the inbox first (a repeated update is dropped there),
then the chat's queue is drained under a per-chat lock: oldest first, one at
a time. If Rasa does not answer, the citizen is told once that the message is
saved and the retry loop tries again with backoff.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.config import Settings
from bot.db import Database
from bot.i18n import channel_text
from bot.models import utcnow
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.scheduler import Delivery
from bot.services import buttons, citizens, inbox, languages
from bot.telegram import media
from bot.telegram.replies import Outgoing, merge
from bot.telegram.sending import outcome_of

logger = logging.getLogger(__name__)

FLOOD_LIMIT = parse("20/10 seconds")
MAX_ATTEMPTS = 5
# Telegram allows about one message per second in a private chat, with short bursts.
CHAT_BURST, CHAT_BURST_SECONDS = 3, 3.0
REPLIES, KEYBOARDS, SENT = "_replies", "_keyboards", "_sent"
ALBUM_WAIT = 1.2
SEND_ATTEMPTS = 4


@dataclass(frozen=True)
class Timing:
    """Knobs the tests turn down; defaults suit production."""

    album_wait: float = ALBUM_WAIT
    retry_interval: float = 2.0
    max_backoff: float = 60.0


class Bridge:
    def __init__(self, settings: Settings, db: Database, rasa: RasaClient, timing: Timing = Timing()) -> None:
        self.settings = settings
        self.db = db
        self.rasa = rasa
        self.timing = timing
        self.bot: Bot | None = None
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._flood_storage = MemoryStorage()  # the limiter only keeps a weak reference
        self._flood = MovingWindowRateLimiter(self._flood_storage)
        self._warned: dict[str, float] = {}
        self._told_unavailable: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._chat_pace: dict[str, AsyncLimiter] = {}
        self._guessed: dict[str, str] = {}  # language of citizens not stored yet (no consent)

    # incoming -------------------------------------------------------------

    async def receive(self, incoming: inbox.Incoming) -> None:
        """Store, then answer (unless it is a duplicate, a held album part or a flood)."""
        with self.db.session() as session:
            stored = inbox.accept(session, incoming)
            if stored is not None:
                citizens.mark_reachable(session, incoming.sender_id)
            stored_id = stored.id if stored else None
        if stored_id is None:
            logger.info("duplicate update %s ignored", incoming.update_key)
            return
        if incoming.group_key:
            self._later(self._release_album(incoming.group_key, incoming.chat_id))
            return
        if not self._flood.hit(FLOOD_LIMIT, incoming.sender_id):
            await self._slow_down(incoming, stored_id)
            return
        await self.drain(incoming.chat_id)

    async def _slow_down(self, incoming: inbox.Incoming, item_id: int) -> None:
        with self.db.session() as session:
            inbox.hold_until(session, item_id, utcnow() + timedelta(seconds=10))
        loop = asyncio.get_running_loop()
        if loop.time() - self._warned.get(incoming.sender_id, -1e9) > 10:
            self._warned[incoming.sender_id] = loop.time()
            await self.deliver(incoming.chat_id, Outgoing(channel_text("slow_down", self.language_of(incoming.sender_id))))

    async def _release_album(self, group_key: str, chat_id: str) -> None:
        await asyncio.sleep(self.timing.album_wait)
        with self.db.session() as session:
            inbox.release_group(session, group_key)
        await self.drain(chat_id)

    def _later(self, coroutine) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # handling -------------------------------------------------------------

    async def drain(self, chat_id: str) -> None:
        """Answer a chat's due messages in order; stop at the first failure and retry later."""
        async with self._locks[chat_id]:
            with self.db.session() as session:
                job = _next_job(session, chat_id)
            while job is not None:
                job = await self._handle(chat_id, job)

    async def _handle(self, chat_id: str, job: "Job") -> "Job | None":
        """One message: media, Rasa, replies; returns the chat's next message, if due.

        Each stage's result is saved before the next, so a retry resumes where it
        stopped (no second download, no second Rasa turn, no second reply)."""
        meta = job.meta
        if REPLIES not in meta:
            if meta.get("telegram_files"):
                fetched = await self._fetch_media(chat_id, job.sender, meta, job.consented)
                if fetched is None:
                    await self._defer(chat_id, job.item_id, job.sender, transient=True)
                    return None
                meta = fetched
                self._save(job.item_id, meta)
            coprod = meta.setdefault("coprod", {})
            coprod["message_key"] = f"inbox:{job.item_id}"
            detected = languages.detect(job.text, coprod.get("app_language"))
            if detected:
                coprod["language"] = detected
                self._guessed[job.sender] = detected
            try:
                replies = await self.rasa.send(job.sender, job.text, meta)
            except RasaUnavailable as exc:
                logger.warning("Rasa did not answer chat %s: %s", chat_id, exc)
                set_aside = await self._defer(chat_id, job.item_id, job.sender, transient=exc.transient)
                return self._next_after(chat_id) if set_aside else None
            self._told_unavailable.discard(chat_id)
            with self.db.session() as session:
                keyboards = [self._issue(session, chat_id, out) for out in merge(replies)]
                meta = {**meta, REPLIES: replies, KEYBOARDS: keyboards, SENT: 0}
                inbox.update_meta(session, job.item_id, meta)
        outgoing = merge(meta[REPLIES])
        for index in range(int(meta.get(SENT, 0)), len(outgoing)):
            markup = _markup(outgoing[index], meta[KEYBOARDS][index])
            outcome = await self.deliver(chat_id, outgoing[index], markup)
            if outcome == "blocked":
                break
            if outcome == "failed":
                await self._defer(chat_id, job.item_id, job.sender, transient=True, notify=False)
                return None
            if index + 1 < len(outgoing):
                meta[SENT] = index + 1
                self._save(job.item_id, meta)
        with self.db.session() as session:
            inbox.mark_done(session, job.item_id)
            return _next_job(session, chat_id)

    def _next_after(self, chat_id: str) -> "Job | None":
        with self.db.session() as session:
            return _next_job(session, chat_id)

    async def _fetch_media(
        self, chat_id: str, sender: str, meta: dict[str, Any], consented: bool
    ) -> dict[str, Any] | None:
        """Download photos of consenting citizens only; None means try again later."""
        files_dropped = {k: v for k, v in meta.items() if k != "telegram_files"}
        if not consented:
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

    def _save(self, item_id: int, meta: dict[str, Any]) -> None:
        with self.db.session() as session:
            inbox.update_meta(session, item_id, meta)

    async def _defer(
        self, chat_id: str, item_id: int, sender: str, transient: bool, notify: bool = True
    ) -> bool:
        """Retry later with backoff; a message that keeps failing for its own sake is set aside."""
        with self.db.session() as session:
            attempts = inbox.defer(session, item_id, timedelta(seconds=0))
            delay = min(self.timing.max_backoff, self.timing.retry_interval * 2 ** min(attempts - 1, 6))
            inbox.hold_until(session, item_id, utcnow() + timedelta(seconds=delay))
            if not transient and attempts >= MAX_ATTEMPTS:
                inbox.mark_failed(session, item_id)
        language = self.language_of(sender)
        if not transient and attempts >= MAX_ATTEMPTS:
            logger.error("inbox item %s failed %s times; set aside for staff", item_id, attempts)
            await self.deliver(chat_id, Outgoing(channel_text("failed", language)))
            return True
        if notify and chat_id not in self._told_unavailable:
            self._told_unavailable.add(chat_id)
            await self.deliver(chat_id, Outgoing(channel_text("unavailable", language)))
        return False

    async def retry_forever(self) -> None:
        """Pick up deferred messages and albums left over by a restart."""
        while True:
            try:
                await self.retry_once()
            except Exception:
                logger.exception("retry pass failed")
            await asyncio.sleep(self.timing.retry_interval)

    async def retry_once(self) -> None:
        with self.db.session() as session:
            for group_key in inbox.stale_groups(session, timedelta(seconds=self.timing.album_wait * 3)):
                inbox.release_group(session, group_key)
            due = inbox.chats_with_due_messages(session)
        await asyncio.gather(*(self.drain(chat_id) for chat_id in due))

    # buttons --------------------------------------------------------------

    def redeem(self, chat_id: str, token: str) -> buttons.Press:
        with self.db.session() as session:
            return buttons.redeem(session, chat_id, token)

    def press_notice(self, press: buttons.Press, sender: str) -> str | None:
        """The short text shown on the pressed button, for presses that do nothing."""
        if press.status == "ok":
            return None
        return channel_text("already_chosen" if press.status == "used" else "expired", self.language_of(sender))

    async def act_on(self, press: buttons.Press, chat_id: str, sender: str, message: Message | None, key: str) -> None:
        """A valid press shows the choice and goes on as a message; an expired one offers help."""
        if press.status == "expired":
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
            if message.text:
                await message.edit_text(f"{message.text}\n\n{chosen}", reply_markup=None)
            else:
                await message.edit_reply_markup(reply_markup=None)
        except (BadRequest, Forbidden) as exc:
            logger.info("could not mark the choice: %s", exc)

    # outgoing -------------------------------------------------------------

    @staticmethod
    def _issue(session: Any, chat_id: str, outgoing: Outgoing) -> list[str]:
        """Tokens for a message's buttons, stored with their payloads (none without buttons)."""
        flat = [button for row in outgoing.rows() for button in row]
        return buttons.issue(session, chat_id, flat) if flat else []

    async def pace(self, chat_id: str) -> None:
        """Wait for this chat's turn, so replies stay within Telegram's per-chat limit
        instead of provoking 429s (PTB's AIORateLimiter paces overall and group sends)."""
        if chat_id.startswith("-"):
            return
        limiter = self._chat_pace.get(chat_id)
        if limiter is None:
            limiter = self._chat_pace[chat_id] = AsyncLimiter(CHAT_BURST, CHAT_BURST_SECONDS)
        await limiter.acquire()

    async def deliver(self, chat_id: str, outgoing: Outgoing, markup: InlineKeyboardMarkup | None = None) -> str:
        """Send one message: `sent`, `refused` (Telegram said no), `blocked` (403, never
        retried; the citizen is marked) or `failed` (network trouble outlasted the retries)."""
        for attempt in range(SEND_ATTEMPTS):
            await self.pace(chat_id)
            try:
                if outgoing.image:
                    await self.bot.send_photo(
                        int(chat_id), outgoing.image, caption=outgoing.text[:1024] or None, reply_markup=markup
                    )
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

    async def send_notice(self, chat_id: str, text: str, choices: list[tuple[str, str]]) -> Delivery:
        """Send a message at most once. Only what certainly did not arrive is retried
        (429 after `retry_after`); a timeout may have delivered it, so it is `unknown`."""
        outgoing = Outgoing(text=text, buttons=choices)
        with self.db.session() as session:
            markup = _markup(outgoing, self._issue(session, chat_id, outgoing))
        while True:
            await self.pace(chat_id)
            try:
                message = await self.bot.send_message(int(chat_id), text, reply_markup=markup)
                return Delivery("sent", message.message_id)
            except TelegramError as exc:
                outcome, wait = outcome_of(exc)
            if outcome == "wait":
                await asyncio.sleep(wait)
                continue
            if outcome == "blocked":
                with self.db.session() as session:
                    citizens.mark_blocked(session, chat_id)
            elif outcome == "refused":
                logger.warning("Telegram refused a message to chat %s", chat_id)
            return Delivery(outcome)

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

    def language_of(self, sender: str) -> str:
        """The stored language; for someone who has not consented, the one their messages suggest."""
        with self.db.session() as session:
            return citizens.language_for(session, sender, self._guessed.get(sender))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.rasa.close()


@dataclass(frozen=True)
class Job:
    """An inbox message about to be handled."""

    item_id: int
    sender: str
    text: str
    meta: dict[str, Any]
    consented: bool


def _next_job(session: Any, chat_id: str) -> Job | None:
    item = inbox.next_pending(session, chat_id)
    if item is None:
        return None
    consented = citizens.find_citizen(session, item.sender_id) is not None
    return Job(item.id, item.sender_id, item.text, inbox.meta_of(item), consented)


def _markup(outgoing: Outgoing, tokens: list[str]) -> InlineKeyboardMarkup | None:
    rows = outgoing.rows()
    if not rows or not tokens:
        return None
    remaining = iter(tokens)
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(title[:64], callback_data=next(remaining)) for title, _ in row] for row in rows]
    )


def _seconds(value: object) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)  # type: ignore[arg-type]
