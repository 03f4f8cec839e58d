"""Session start: load what we know about the citizen into slots."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import database
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
            lang = citizen.language if citizen and citizen.language in SUPPORTED_LANGUAGES else "en"
        return [
            SessionStarted(),
            SlotSet("consented", consented),
            SlotSet("language", lang),
            ActionExecuted("action_listen"),
        ]
