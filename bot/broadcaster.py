"""Delivers broadcasts from the outbox through each citizen's channel, evenly paced.

A channel with a rate of its own (Telegram: about 30 messages/s overall) gets
its sends spaced 1/rate seconds apart, not in bursts, which such a limit
answers with 429s; up to 20 sends run at once, so latency does not lower the
rate. When a channel asks to wait (Telegram's `retry_after`), only that
channel pauses and the refused message goes back to the queue. Each
recipient gets one message, so per-chat limits are not a concern.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from bot.background import spawn
from bot.channels import Channels, Delivery, Message
from bot.db import Database
from bot.i18n import coordinator_text
from bot.models import utcnow
from bot.services import broadcasts
from bot.services.notifications import Rules
from bot.services.text import rasa_payload

logger = logging.getLogger(__name__)

BATCH = 300
IN_FLIGHT = 20
PROGRESS_EVERY_SENDS = 30


class Broadcaster:
    def __init__(
        self,
        db: Database,
        channels: Channels,
        rules: Rules,
        progress: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.db = db
        self.channels = channels
        self.rules = rules
        self._progress = progress
        self._clock = clock
        self._next_slot: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}
        self._inflight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._wake = asyncio.Event()
        self._stopping = False

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def poke(self) -> None:
        """A broadcast was confirmed or cancelled: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Until stopped: send what is pending, keep progress reports current."""
        lost = await asyncio.to_thread(self._recover)
        if lost:
            logger.warning("%s deliveries were in flight at the last stop; marked unknown", lost)
        while not self._stopping:
            try:
                due = await self._round()
            except Exception:  # the database went away for a moment: try again, never stop sending
                logger.exception("a broadcast round failed; trying again")
                due = []
            if not due:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                except asyncio.TimeoutError:
                    pass

    async def _round(self) -> list[tuple[int, str]]:
        """Start every due delivery, paced; returns them."""
        due = await asyncio.to_thread(self._due)
        for started, (delivery_id, channel) in enumerate(due, 1):
            await self._slots.acquire()
            await self._pace(channel)
            if self._stopping:
                self._slots.release()
                break
            self._inflight.add(delivery_id)
            spawn(self._send(delivery_id), self._tasks, f"sending delivery {delivery_id}")
            if started % PROGRESS_EVERY_SENDS == 0:
                await self._report_progress()
        await self._report_progress()
        return due

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _pace(self, channel: str) -> None:
        rate = self.channels.rate(channel)
        now = self.now()
        slot = max(self._next_slot.get(channel, 0.0), now, self._paused_until.get(channel, 0.0))
        self._next_slot[channel] = slot + (1.0 / rate if rate else 0.0)
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _report_progress(self) -> None:
        """Broadcasts with nothing left are done; then the progress reports (if any)."""
        await asyncio.to_thread(self._finish_done)
        if self._progress is None:
            return
        try:
            await self._progress()
        except Exception:
            logger.exception("reporting broadcast progress failed")

    # one delivery ---------------------------------------------------------

    async def _send(self, delivery_id: int) -> None:
        try:
            job = await asyncio.to_thread(self._claim, delivery_id)
            if job is None:
                return
            try:
                message = self._message(job)
            except Exception as exc:  # claimed and committed: record why it cannot go, never leave it `sending`
                logger.exception("broadcast delivery %s could not be written", delivery_id)
                await asyncio.to_thread(self._record, delivery_id, Delivery("failed", error=type(exc).__name__))
                return
            delivery = await self.channels.send(job.channel, job.chat_id, message)
            if delivery.outcome == "retry" and delivery.retry_in:
                until = self.now() + delivery.retry_in
                self._paused_until[job.channel] = max(self._paused_until.get(job.channel, 0.0), until)
            await asyncio.to_thread(self._record, delivery_id, delivery)
        finally:
            self._inflight.discard(delivery_id)
            self._slots.release()

    def _finish_done(self) -> None:
        with self.db.session() as session:
            broadcasts.finish_done(session)

    def _recover(self) -> int:
        with self.db.session() as session:
            return broadcasts.recover_interrupted(session)

    def _due(self) -> list[tuple[int, str]]:
        with self.db.session() as session:
            quiet = self.rules.quiet.is_quiet(utcnow())
            return broadcasts.due(session, utcnow(), BATCH, set(self._inflight), quiet)

    def _claim(self, delivery_id: int) -> broadcasts.Outbound | None:
        """Committed before the send: from here on this delivery is never sent twice."""
        with self.db.session() as session:
            return broadcasts.claim(session, delivery_id)

    @staticmethod
    def _message(job: broadcasts.Outbound) -> Message:
        choices = []
        if job.signup_task_id is not None:
            title = coordinator_text("broadcast.signup_button", job.language, title=job.signup_title)[:64]
            choices.append((title, rasa_payload("sign_up", task_id=job.signup_task_id)))
        return Message(job.text, choices, job.photo)

    def _record(self, delivery_id: int, delivery: Delivery) -> None:
        with self.db.session() as session:
            broadcasts.record(session, delivery_id, delivery.outcome, delivery.message_id, delivery.retry_in, delivery.error)
