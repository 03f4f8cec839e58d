"""Session start: load what we know about the citizen into slots."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import database
from bot.services.languages import LANGUAGES
from bot.i18n import SUPPORTED_LANGUAGES
from bot.services.citizens import find_citizen


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with database().session() as session:
            citizen = find_citizen(session, tracker.sender_id)
            consented = bool(citizen and citizen.consented_at)
            stored = citizen.language if citizen else None
        lang = stored if stored in SUPPORTED_LANGUAGES else _detected(tracker) or "en"
        return [
            SessionStarted(),
            SlotSet("consented", consented),
            SlotSet("language", lang),
            ActionExecuted("action_listen"),
        ]


def _detected(tracker: Tracker) -> str | None:
    """The language the channel detected in the message that opens the session (see README)."""
    metadata = tracker.get_slot("session_started_metadata") or {}
    block = metadata.get("coprod") if isinstance(metadata, dict) else None
    found = block.get("language") if isinstance(block, dict) else None
    return found if found in LANGUAGES else None
