"""The inbound path of every channel: store each message, hand it to Rasa in order, deliver the replies.

Every message goes to the inbox first (a repeated update is dropped there),
then the chat's queue is drained under a per-chat lock: oldest first, one at
a time. If Rasa does not answer, the citizen is told once that the message is
saved and the retry loop tries again with backoff. Each channel (Telegram,
the web chat) subclasses `Inbound` with how it delivers one reply.

Chats are served fairly: each message handed to Rasa takes a turn (`Turns`:
the chat with the fewest recent turns goes first), and a chat asks for its next
turn only once its current one is over, so a newcomer is answered next even
while others flood, and flooding chats share the rest round-robin. Replies are
sent outside the turn, so Telegram's pacing of one chat holds up nobody else.
A chat's queue is bounded: beyond `QUEUE_LIMIT`
unanswered messages, or faster than `FLOOD_LIMIT`, the excess is kept as
`skipped` and the sender is told once to slow down.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Coroutine

from limits import parse
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from bot.background import process_tag, spawn
from bot.config import Settings
from bot.counters import counter_storage
from bot.db import Database
from bot.i18n import channel_text
from bot.models import utcnow
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.services import buttons, citizens, inbox, languages
from bot.telegram.replies import Outgoing, merge
from bot.turns import Turns

logger = logging.getLogger(__name__)

FLOOD_LIMIT = parse("20/10 seconds")
QUEUE_LIMIT = 20
PHOTOS_PER_CITIZEN = parse("40/day")
MAX_ATTEMPTS = 5
REPLIES, KEYBOARDS, SENT = "_replies", "_keyboards", "_sent"
ALBUM_WAIT = 1.2


@dataclass(frozen=True)
class Timing:
    """Knobs the tests turn down; defaults suit production."""

    album_wait: float = ALBUM_WAIT
    retry_interval: float = 2.0
    max_backoff: float = 60.0


class Inbound:
    """One channel's conversations; a subclass says how one reply is delivered."""

    channel = "telegram"

    def __init__(self, settings: Settings, db: Database, rasa: RasaClient, timing: Timing = Timing()) -> None:
        self.settings = settings
        self.db = db
        self.rasa = rasa
        self.timing = timing
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._flood_storage = counter_storage(settings.redis_url)  # the limiter only keeps a weak reference
        self._flood = MovingWindowRateLimiter(self._flood_storage)
        self._warned: dict[str, float] = {}
        self._told_unavailable: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._guessed: dict[str, str] = {}  # language of citizens not stored yet (no consent)
        # A day's window, counted by photos: limits' moving window miscounts costs above 1 in Redis.
        self._photos = FixedWindowRateLimiter(self._flood_storage)
        self._turns = Turns(settings.inbound_concurrency)
        self.owner = process_tag()  # who claims messages

    def photos_refused(self, sender: str, count: int) -> str | None:
        """Why `count` more photos of this citizen cannot be stored (a channel text key), or None:
        at most 40 a day each, and none while the disk has less than MEDIA_MIN_FREE_MB free."""
        if not count:
            return None
        media = self.settings.media_dir
        probe = media if media.exists() else media.parent
        if shutil.disk_usage(probe).free < self.settings.media_min_free_mb * 2**20:
            logger.warning("photos refused: less than %s MB free for MEDIA_DIR", self.settings.media_min_free_mb)
            return "photos_paused"
        if not self._photos.hit(PHOTOS_PER_CITIZEN, "photos", sender, cost=count):
            return "photo_quota"
        return None

    async def deliver(self, chat_id: str, outgoing: Outgoing, tokens: list[str] | None = None) -> str:
        """Send one reply whose buttons' tokens are issued: `sent`, `refused`, `blocked`
        (never retried) or `failed` (the message is tried again later)."""
        raise NotImplementedError

    # incoming -------------------------------------------------------------

    async def receive(self, incoming: inbox.Incoming) -> None:
        """Store, then answer, unless it is a repeat, a held album part or a flood's excess.

        When the chat is already being answered this returns at once: the chat's
        drain picks the message up (it looks for the next one before it lets go)."""
        incoming = replace(incoming, channel=self.channel)
        with self.db.session() as session:
            stored = inbox.accept(session, incoming)
            flooding = False
            if stored is not None:
                citizens.mark_reachable(session, incoming.sender_id)
                fast = not self._flood.hit(FLOOD_LIMIT, incoming.sender_id)  # album parts count too
                flooding = fast or inbox.unanswered(session, incoming.chat_id) > QUEUE_LIMIT
                if flooding:
                    inbox.skip(session, stored)
            stored_id = stored.id if stored else None
        busy = self._locks[incoming.chat_id].locked()
        await self._stored(incoming, stored_id is not None)
        if stored_id is None:
            logger.info("duplicate update %s ignored", incoming.update_key)
            return
        if flooding:
            logger.info("chat %s is flooding: message %s skipped", incoming.chat_id, stored_id)
            await self._warn(incoming)
            return
        if incoming.group_key:
            self._later(self._release_album(incoming.group_key, incoming.chat_id), "merging an album")
            return
        if not busy:
            await self.drain(incoming.chat_id)

    async def _stored(self, incoming: inbox.Incoming, new: bool) -> None:
        """The message is safe in the inbox (`new` is False for a repeat): a channel may acknowledge it."""

    async def _warn(self, incoming: inbox.Incoming) -> None:
        """One "slow down" per 10 s, however many messages the flood has."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._warned.get(incoming.sender_id, -1e9) > 10:
            self._warned[incoming.sender_id] = loop.time()
            await self.deliver(incoming.chat_id, Outgoing(channel_text("slow_down", self.language_of(incoming.sender_id))))

    async def _release_album(self, group_key: str, chat_id: str) -> None:
        await asyncio.sleep(self.timing.album_wait)
        with self.db.session() as session:
            inbox.release_group(session, group_key)
        await self.drain(chat_id)

    def _later(self, coroutine: Coroutine[Any, Any, Any], what: str = "inbound work") -> None:
        spawn(coroutine, self._tasks, what)

    # handling -------------------------------------------------------------

    async def drain(self, chat_id: str) -> None:
        """Answer a chat's due messages in order; stop at the first failure and retry later."""
        async with self._locks[chat_id]:
            with self.db.session() as session:
                job = _next_job(session, chat_id, self.owner)
            while job is not None:
                try:
                    job = await self._handle(chat_id, job)
                except asyncio.CancelledError:  # shutting down: another process may take it now
                    self._unclaim(job.item_id)
                    raise
                except Exception:  # a fault: counted, retried later, set aside after MAX_ATTEMPTS
                    logger.exception("handling inbox item %s of chat %s failed", job.item_id, chat_id)
                    await self._defer(chat_id, job.item_id, job.sender, transient=False, notify=False)
                    return
                if job is None:  # look once more, with no await before the lock is let go
                    job = self._next_after(chat_id)

    async def _handle(self, chat_id: str, job: "Job") -> "Job | None":
        """One message: media, Rasa, replies; returns the chat's next message, if due.

        Each stage's result is saved before the next, so a retry resumes where it
        stopped (no second download, no second Rasa turn, no second reply)."""
        meta = job.meta
        if REPLIES not in meta:
            prepared = await self._prepare(chat_id, job, meta)
            if prepared is None:
                await self._defer(chat_id, job.item_id, job.sender, transient=True)
                return None
            if prepared is not meta:
                meta = prepared
                self._save(job.item_id, meta)
            coprod = meta.setdefault("coprod", {})
            coprod["message_key"] = f"inbox:{job.item_id}"
            detected = languages.detect(job.text, coprod.get("app_language"))
            if detected:
                coprod["language"] = detected
                self._guessed[job.sender] = detected
            try:
                async with self._turns.turn(chat_id):
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
            outcome = await self.deliver(chat_id, outgoing[index], meta[KEYBOARDS][index])
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
            return _next_job(session, chat_id, self.owner)

    def _next_after(self, chat_id: str) -> "Job | None":
        with self.db.session() as session:
            return _next_job(session, chat_id, self.owner)

    async def _prepare(self, chat_id: str, job: "Job", meta: dict[str, Any]) -> dict[str, Any] | None:
        """The channel's work before Rasa (fetching photos); None means try again later."""
        return meta

    def _unclaim(self, item_id: int) -> None:
        with self.db.session() as session:
            inbox.unclaim(session, item_id, self.owner)

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
            inbox.renew_claims(session, self.owner)  # ours are alive, however long Rasa takes
            released = inbox.release_stale_claims(session)
            if released:
                logger.warning("%s messages claimed by a process that stopped are handled again", released)
            for group_key in inbox.stale_groups(session, timedelta(seconds=self.timing.album_wait * 3)):
                inbox.release_group(session, group_key)
            due = inbox.chats_with_due_messages(session, channel=self.channel)
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

    @staticmethod
    def _issue(session: Any, chat_id: str, outgoing: Outgoing) -> list[str]:
        """Tokens for a message's buttons, stored with their payloads (none without buttons)."""
        flat = [button for row in outgoing.rows() for button in row]
        return buttons.issue(session, chat_id, flat) if flat else []

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


def _next_job(session: Any, chat_id: str, owner: str) -> Job | None:
    """Claim the chat's next message for this process, if it is due and nobody else has it."""
    item = inbox.claim_next(session, chat_id, owner)
    if item is None:
        return None
    consented = citizens.find_citizen(session, item.sender_id) is not None
    return Job(item.id, item.sender_id, item.text, inbox.meta_of(item), consented)
