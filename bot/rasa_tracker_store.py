"""Rasa's SQL tracker store, made to forget a conversation when its citizen erases their data.

The erase action emits `SlotSet("erased", True)` then `Restarted()`. When a
tracker carrying that marker is saved, every stored event of the conversation
is deleted and only what came after the marker (the goodbye) is kept, so the
citizen's words do not outlive the erasure in the tracker store.
Configured in endpoints.yml as the tracker store `type`, with one `url`
(RASA_TRACKER_URL: a SQLite file by default, PostgreSQL for several Rasa
processes).
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot import rasa_action_checks

logger = logging.getLogger(__name__)

ERASED_SLOT = "erased"


def erase_marker(events: Sequence[Event]) -> int | None:
    """Index of the last erase marker in the events, if any."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, SlotSet) and event.key == ERASED_SLOT and event.value:
            return index
    return None


class ErasableSQLTrackerStore(SQLTrackerStore):
    def __init__(self, domain: Domain | None = None, url: str | None = None, **kwargs: Any) -> None:
        """`url` is a SQLAlchemy URL (`sqlite:///var/rasa_tracker.db`,
        `postgresql://user:password@host:5432/rasa`); Rasa's own keys still work without it."""
        rasa_action_checks.install()
        if url:
            parsed = make_url(url)
            kwargs.update(
                dialect=parsed.get_backend_name(), host=parsed.host, port=parsed.port, db=parsed.database,
                username=parsed.username, password=parsed.password, query=dict(parsed.query) or None,
            )
        super().__init__(domain=domain, **kwargs)

    async def save(self, tracker: DialogueStateTracker) -> None:
        events = list(tracker.events)
        marker = erase_marker(events)
        if marker is None:
            await super().save(tracker)
            return
        with self.session_scope() as session:
            deleted = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.sender_id == tracker.sender_id)
                .delete(synchronize_session=False)
            )
            session.commit()
        logger.info("erased %s stored conversation events", deleted)
        remaining = DialogueStateTracker.from_events(
            tracker.sender_id, events[marker + 1 :], slots=self.domain.slots
        )
        await super().save(remaining)
