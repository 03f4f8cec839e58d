"""A broadcast's progress in the coordinator's Telegram chat: one message, edited
at most every few seconds ("1,240 / 5,000 sent · 3 failed"), then the final report."""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import RetryAfter, TelegramError

from bot.db import Database
from bot.i18n import coordinator_text, format_number
from bot.models import Broadcast, utcnow
from bot.services import broadcasts, buttons, citizens
from bot.services.notifications import Rules

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0


class ProgressMessages:
    """Called by the broadcaster after each round of sends."""

    def __init__(
        self, db: Database, bot: Bot, rules: Rules, every: float = PROGRESS_EVERY, clock: Callable[[], float] | None = None
    ) -> None:
        self.db = db
        self.bot = bot
        self.rules = rules
        self.progress_every = every
        self._clock = clock
        self._edited: dict[int, tuple[float, str]] = {}
        self._cancel_markups: dict[int, InlineKeyboardMarkup] = {}

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    async def __call__(self) -> None:
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
        for name in ("total", "sent", "failed", "blocked", "skipped", "unknown", "unreachable")
    }
    if counts.status == "cancelled":
        return coordinator_text("broadcast.cancelled", language, id=broadcast_id, **numbers)
    if counts.finished or counts.status == "done":
        unknown = coordinator_text("broadcast.final_unknown", language, unknown=numbers["unknown"]) if counts.unknown else ""
        if counts.unreachable:
            unknown += coordinator_text("broadcast.final_unreachable", language, unreachable=numbers["unreachable"])
        return coordinator_text("broadcast.final", language, id=broadcast_id, **{**numbers, "unknown": unknown})
    text = coordinator_text("broadcast.progress", language, id=broadcast_id, **numbers)
    return text + (coordinator_text("broadcast.waiting_quiet", language) if quiet else "")
