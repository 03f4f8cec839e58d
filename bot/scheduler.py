"""The scheduler: one APScheduler job polls due notifications from the database.

Why rows polled by one job rather than one APScheduler job per reminder: the
rows are already the source of truth (sign-ups create them, cancelling skips
them, the dashboard can show them), a restart loads nothing into memory, and
`bench/reminders.py` measures the alternative side by side (README).
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from datetime import datetime
from typing import Any, Callable, Coroutine

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.background import spawn
from bot.channels import Channels, Delivery, Message
from bot.db import Database
from bot.models import utcnow
from bot.services import notifications, privacy, progress, retention, signups
from bot.services.notice_messages import render
from bot.services.notifications import Rules

logger = logging.getLogger(__name__)

BATCH = 200
CONCURRENCY = 30


class Scheduler:
    """Sends due notifications and runs the periodic planning jobs."""

    def __init__(
        self,
        db: Database,
        channels: Channels,
        rules: Rules,
        timezone: str,
        tick_seconds: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        media_dir: Path | None = None,
        tracker_url: str | None = None,
        conversation_days: int = 30,
    ) -> None:
        self.db = db
        self.tracker_url = tracker_url
        self.conversation_days = conversation_days
        self.channels = channels
        self.rules = rules
        self.timezone = timezone
        self.tick_seconds = tick_seconds
        self.clock = clock
        self.media_dir = media_dir
        self._inflight: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._apscheduler: AsyncIOScheduler | None = None
        self._wakeup: asyncio.TimerHandle | None = None

    def recover(self) -> int:
        """Start-up: settle what a crash interrupted, create upcoming sessions."""
        with self.db.session() as session:
            lost = notifications.recover_interrupted(session)
        self.extend_series()
        self.weekly_progress()
        return lost

    def start(self) -> None:
        self.recover()
        scheduler = AsyncIOScheduler(timezone=self.rules.quiet.tz)
        scheduler.add_job(self.tick, "interval", seconds=self.tick_seconds, max_instances=1, coalesce=True)
        scheduler.add_job(self.extend_series, "interval", hours=6, max_instances=1, coalesce=True)
        if self.media_dir is not None:
            scheduler.add_job(self.retention, "cron", hour=4, max_instances=1, coalesce=True)
        scheduler.add_job(
            self.weekly_progress, "cron", day_of_week="sun", hour=progress.NOTE_HOUR, minute=1,
            max_instances=1, coalesce=True,
        )
        scheduler.start()
        self._apscheduler = scheduler
        logger.info("scheduler started (tick %ss, quiet hours in %s)", self.tick_seconds, self.timezone)

    async def stop(self) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()
        if self._apscheduler is not None:
            self._apscheduler.shutdown(wait=False)
            self._apscheduler = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def extend_series(self) -> int:
        with self.db.session() as session:
            return signups.extend_series(session, self.rules, self.clock())

    def retention(self) -> int:
        """Nightly: drop old messages and buttons, then the photo files no report kept,
        then Rasa's conversations past their retention period."""
        assert self.media_dir is not None
        with self.db.session() as session:
            purged = retention.purge(session, self.media_dir, self.clock())
        deleted = privacy.delete_files(self.media_dir, purged.orphan_paths)
        if self.tracker_url:
            retention.purge_conversations(self.tracker_url, self.conversation_days, self.clock())
        return deleted

    def weekly_progress(self) -> int:
        with self.db.session() as session:
            return progress.plan_weekly_notes(session, self.rules, self.clock())

    async def tick(self) -> int:
        """Start sending everything due that is not already on its way; returns how many.

        Database work runs in threads so that the bridge's event loop keeps
        answering citizens while a burst of reminders goes out. When the next
        message falls due before the next tick, a wake-up is set for its instant,
        so the polling interval does not add to the lag."""
        due, next_due = await asyncio.to_thread(self._due, set(self._inflight))
        if self._apscheduler is not None:
            self._wake_at(next_due)
        for notice_id in due:
            self._inflight.add(notice_id)
            self._spawn(self._send(notice_id), f"sending notification {notice_id}")
        return len(due)

    async def drain(self) -> None:
        """Tests and benchmarks: wait for the sends started so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _send(self, notice_id: int) -> None:
        try:
            async with self._slots:
                claimed = await asyncio.to_thread(self._claim, notice_id)
                if claimed is None:
                    return
                try:
                    text, buttons = render(claimed, self.timezone)
                except Exception as exc:  # a bad row must not stay `sending` nor stop the others
                    logger.exception("notification %s (%s) could not be written", notice_id, claimed.kind)
                    delivery = Delivery("failed", error=type(exc).__name__)
                else:
                    delivery = await self.channels.send(claimed.channel, claimed.address, Message(text, buttons))
                await asyncio.to_thread(self._record, notice_id, delivery)
        finally:
            self._inflight.discard(notice_id)

    def _due(self, inflight: set[int]) -> tuple[list[int], datetime | None]:
        now = self.clock()
        with self.db.session() as session:
            return notifications.due_ids(session, now, BATCH, inflight), notifications.next_due_at(session, now)

    def _wake_at(self, due: datetime | None) -> None:
        if due is None:
            return
        delay = (due - self.clock()).total_seconds()
        if delay >= self.tick_seconds:
            return
        if self._wakeup is not None:
            self._wakeup.cancel()
        self._wakeup = asyncio.get_running_loop().call_later(max(delay, 0.0), self._tick_now)

    def _tick_now(self) -> None:
        self._spawn(self.tick(), "a scheduler tick")

    def _spawn(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        """Run in the background, kept referenced until done (`drain` and `stop` wait for it)."""
        spawn(work, self._tasks, what)

    def _claim(self, notice_id: int) -> notifications.Claimed | None:
        """Committed before the send: from here on this row is never sent again."""
        with self.db.session() as session:
            return notifications.claim(session, notice_id, self.clock())

    def _record(self, notice_id: int, delivery: Delivery) -> None:
        with self.db.session() as session:
            notifications.record(session, notice_id, delivery.outcome, delivery.message_id, self.clock())
