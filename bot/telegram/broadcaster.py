"""Delivers broadcasts from the outbox at Telegram's overall limit, evenly paced.

Sends are spaced 1/`rate` seconds apart (not in bursts, which a 30-per-second
limit answers with 429s) and up to 20 run at once, so latency does not lower
the rate. The broadcaster uses its own Bot without PTB's rate limiter, so it
sees each 429 itself: everything pauses for `retry_after` and the refused
message goes back to the queue. Each recipient gets one
message, so the 1-per-second per-chat limit is not a concern; the progress
message in the coordinator's chat is edited at most every few seconds.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.db import Database
from bot.i18n import coordinator_text, format_number
from bot.models import Broadcast, utcnow
from bot.services import broadcasts, buttons, citizens
from bot.services.contributions import inside_media
from bot.services.notifications import Rules
from bot.services.text import rasa_payload
from bot.telegram.sending import outcome_of

logger = logging.getLogger(__name__)

RATE = 29.5
BATCH = 300
IN_FLIGHT = 20
PROGRESS_EVERY = 3.0
RETRY_BACKOFF = 2.0


class Broadcaster:
    def __init__(
        self,
        db: Database,
        bot: Bot,
        rules: Rules,
        rate: float = RATE,
        progress_every: float = PROGRESS_EVERY,
        clock: Callable[[], float] | None = None,
        media_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.media_dir = media_dir
        self.bot = bot
        self.rules = rules
        self.interval = 1.0 / rate
        self.progress_every = progress_every
        self._clock = clock
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._inflight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._edited: dict[int, tuple[float, str]] = {}
        self._cancel_markups: dict[int, InlineKeyboardMarkup] = {}
        self._wake = asyncio.Event()
        self._stopping = False

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def poke(self) -> None:
        """A broadcast was confirmed or cancelled: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Until stopped: send what is pending, keep progress messages current."""
        lost = await asyncio.to_thread(self._recover)
        if lost:
            logger.warning("%s deliveries were in flight at the last stop; marked unknown", lost)
        while not self._stopping:
            due = await asyncio.to_thread(self._due)
            for delivery_id in due:
                await self._slots.acquire()
                await self._pace()
                if self._stopping:
                    self._slots.release()
                    break
                self._inflight.add(delivery_id)
                task = asyncio.create_task(self._send(delivery_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                if len(self._tasks) % 30 == 0:
                    await self._report_progress()
            await self._report_progress()
            if not due:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                except asyncio.TimeoutError:
                    pass

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _pace(self) -> None:
        now = self.now()
        slot = max(self._next_slot, now, self._paused_until)
        self._next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    # one delivery ---------------------------------------------------------

    async def _send(self, delivery_id: int) -> None:
        try:
            claimed = await asyncio.to_thread(self._claim, delivery_id)
            if claimed is None:
                return
            job, markup = claimed
            outcome, message_id, retry_in = await self._call(job, markup)
            await asyncio.to_thread(self._record, delivery_id, outcome, message_id, retry_in)
        finally:
            self._inflight.discard(delivery_id)
            self._slots.release()

    async def _call(self, job: broadcasts.Outbound, markup: InlineKeyboardMarkup | None) -> tuple[str, object, float]:
        try:
            if job.photo:
                message = await self.bot.send_photo(int(job.chat_id), self._photo(job.photo), caption=job.text, reply_markup=markup)
                if job.photo.startswith(broadcasts.MEDIA_PREFIX) and message.photo:
                    await asyncio.to_thread(self._remember_photo, job.broadcast_id, message.photo[-1].file_id)
            else:
                message = await self.bot.send_message(int(job.chat_id), job.text, reply_markup=markup)
            return "sent", message.message_id, 0.0
        except TelegramError as exc:
            outcome, wait = outcome_of(exc)
        if outcome == "wait":
            self._paused_until = max(self._paused_until, self.now() + wait)
            logger.warning("Telegram asked to wait %.0f s; broadcasts paused", wait)
            return "retry", None, wait
        if outcome == "retry":
            return "retry", None, RETRY_BACKOFF
        if outcome == "refused":
            logger.warning("Telegram refused a broadcast message to chat %s", job.chat_id)
        return outcome, None, 0.0

    def _photo(self, photo: str) -> str | bytes:
        """A Telegram file id as it is; a dashboard upload as its bytes (until Telegram gives an id)."""
        if not photo.startswith(broadcasts.MEDIA_PREFIX):
            return photo
        path = inside_media(self.media_dir, photo[len(broadcasts.MEDIA_PREFIX):]) if self.media_dir else None
        if path is None or not path.is_file():
            raise BadRequest("the broadcast's photo file is missing")
        return path.read_bytes()

    def _remember_photo(self, broadcast_id: int, file_id: str) -> None:
        with self.db.session() as session:
            broadcasts.remember_photo(session, broadcast_id, file_id)

    def _recover(self) -> int:
        with self.db.session() as session:
            return broadcasts.recover_interrupted(session)

    def _due(self) -> list[int]:
        with self.db.session() as session:
            quiet = self.rules.quiet.is_quiet(utcnow())
            return broadcasts.due(session, utcnow(), BATCH, set(self._inflight), quiet)

    def _claim(self, delivery_id: int) -> tuple[broadcasts.Outbound, InlineKeyboardMarkup | None] | None:
        """Committed before the send: from here on this delivery is never sent twice."""
        with self.db.session() as session:
            job = broadcasts.claim(session, delivery_id)
            if job is None or job.signup_task_id is None:
                return (job, None) if job else None
            title = coordinator_text("broadcast.signup_button", job.language, title=job.signup_title)[:64]
            (token,) = buttons.issue(session, job.chat_id, [(title, rasa_payload("sign_up", task_id=job.signup_task_id))])
            return job, InlineKeyboardMarkup([[InlineKeyboardButton(title, callback_data=token)]])

    def _record(self, delivery_id: int, outcome: str, message_id: object, retry_in: float) -> None:
        with self.db.session() as session:
            broadcasts.record(session, delivery_id, outcome, message_id, retry_in)

    # progress -------------------------------------------------------------

    async def _report_progress(self) -> None:
        for broadcast_id, chat_id, message_id, text, over, language in await asyncio.to_thread(self._progress_texts):
            last = self._edited.get(broadcast_id)
            if last is not None and (last[1] == text or (not over and self.now() - last[0] < self.progress_every)):
                continue
            self._edited[broadcast_id] = (self.now(), text)
            markup = None
            if not over:
                markup = self._cancel_markups.get(broadcast_id)
                if markup is None:
                    markup = await asyncio.to_thread(cancel_button, self.db, broadcast_id, chat_id, language)
                    self._cancel_markups[broadcast_id] = markup
            try:
                await self.bot.edit_message_text(text, chat_id=int(chat_id), message_id=int(message_id), reply_markup=markup)
            except RetryAfter as exc:
                self._edited.pop(broadcast_id, None)  # not shown: try again on a later round
                logger.info("progress of broadcast %s delayed by Telegram: %s", broadcast_id, exc)
                continue
            except TelegramError as exc:
                logger.info("progress of broadcast %s not shown: %s", broadcast_id, exc)
            if over:
                self._edited.pop(broadcast_id, None)
                self._cancel_markups.pop(broadcast_id, None)
                await asyncio.to_thread(self._forget_progress, broadcast_id)

    def _progress_texts(self) -> list[tuple[int, str, str, str, bool, str]]:
        """(id, chat, message, text, over, language) for running broadcasts with a progress message."""
        found = []
        with self.db.session() as session:
            for broadcast in session.query(Broadcast).filter(Broadcast.progress_message_id.isnot(None)).all():
                over = broadcasts.finish_if_done(session, broadcast.id)
                counts = broadcasts.progress(session, broadcast.id)
                quiet = self.rules.quiet.is_quiet(utcnow()) and broadcast.hold_quiet_hours
                language = citizens.language_for(session, broadcast.created_by)
                text = progress_text(broadcast.id, counts, quiet and not over, language)
                found.append((broadcast.id, broadcast.progress_chat_id, broadcast.progress_message_id, text, over, language))
        return found

    def _forget_progress(self, broadcast_id: int) -> None:
        with self.db.session() as session:
            session.get(Broadcast, broadcast_id).progress_message_id = None



def cancel_button(db: Database, broadcast_id: int, chat_id: str, language: str = "en") -> InlineKeyboardMarkup:
    """The Cancel button under a progress message (kept on every edit)."""
    title = coordinator_text("broadcast.cancel", language)
    with db.session() as session:
        (token,) = buttons.issue(session, chat_id, [(title, f"coord:cancel_broadcast:{broadcast_id}")])
    return InlineKeyboardMarkup([[InlineKeyboardButton(title, callback_data=token)]])


def progress_text(broadcast_id: int, counts: broadcasts.Progress, quiet: bool = False, language: str = "en") -> str:
    """The progress line ("1,240 / 5,000 sent · 3 failed · 2 blocked"), or the final report."""
    numbers = {
        name: format_number(getattr(counts, name), language)
        for name in ("total", "sent", "failed", "blocked", "skipped", "unknown")
    }
    if counts.status == "cancelled":
        return coordinator_text("broadcast.cancelled", language, id=broadcast_id, **numbers)
    if counts.finished or counts.status == "done":
        unknown = coordinator_text("broadcast.final_unknown", language, unknown=numbers["unknown"]) if counts.unknown else ""
        return coordinator_text("broadcast.final", language, id=broadcast_id, **{**numbers, "unknown": unknown})
    text = coordinator_text("broadcast.progress", language, id=broadcast_id, **numbers)
    return text + (coordinator_text("broadcast.waiting_quiet", language) if quiet else "")
