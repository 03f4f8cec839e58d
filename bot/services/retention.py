"""Keep personal data only as long as it serves: old chat messages, spent buttons,
photo files no report kept (a report abandoned mid-way), and broadcast photos 30 days
after the broadcast is over (web chat conversations show them until then)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, delete, inspect, select
from sqlalchemy.orm import Session

from bot.models import Broadcast, CallbackToken, InboxMessage, utcnow
from bot.services.broadcasts import MEDIA_PREFIX
from bot.services.contributions import unattached

logger = logging.getLogger(__name__)

MESSAGES_KEPT = timedelta(days=30)
ORPHAN_GRACE = timedelta(days=1)  # an open report form may still claim a fresh photo


@dataclass(frozen=True)
class Purged:
    messages: int
    buttons: int
    orphan_paths: tuple[str, ...]


def purge_conversations(tracker_url: str, days: int, now: datetime | None = None) -> int:
    """Delete Rasa's stored conversation events older than `days` (CONVERSATION_RETENTION_DAYS):
    the texts and places people sent, consented or not, do not outlive what the notice says."""
    cutoff = ((now or utcnow()) - timedelta(days=days)).replace(tzinfo=timezone.utc).timestamp()
    engine = create_engine(tracker_url, future=True)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        events = Table("events", MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            deleted = connection.execute(delete(events).where(events.c.timestamp < cutoff)).rowcount
    finally:
        engine.dispose()
    logger.info("retention: %s conversation events older than %s days", deleted, days)
    return int(deleted or 0)


def purge(session: Session, media_dir: Path, now: datetime | None = None) -> Purged:
    """Delete answered messages and buttons older than 30 days; list photo files older
    than a day that no report uses (delete them with `privacy.delete_files` after commit)."""
    now = now or utcnow()
    cutoff = now - MESSAGES_KEPT
    messages = session.execute(
        delete(InboxMessage).where(
            InboxMessage.status.in_(("done", "merged", "skipped")), InboxMessage.handled_at < cutoff
        )
    ).rowcount
    buttons = session.execute(delete(CallbackToken).where(CallbackToken.created_at < cutoff)).rowcount
    candidates = []
    if media_dir.is_dir():
        old = (now - ORPHAN_GRACE).timestamp()
        candidates = [
            str(path.relative_to(media_dir))
            for path in media_dir.rglob("*")
            if path.is_file() and path.stat().st_mtime < old
        ]
    waiting = {
        photo[len(MEDIA_PREFIX):]
        for photo in session.execute(select(Broadcast.photo).where(
            Broadcast.photo.like(MEDIA_PREFIX + "%"),
            (Broadcast.status == "sending") | (Broadcast.finished_at >= cutoff),  # web chats still show it
        )).scalars()
    }
    orphans = tuple(path for path in unattached(session, candidates) if path not in waiting)
    logger.info("retention: %s messages, %s buttons, %s orphan photos", messages, buttons, len(orphans))
    return Purged(int(messages or 0), int(buttons or 0), orphans)
