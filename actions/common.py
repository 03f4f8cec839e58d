"""What every action needs: the database, settings, the citizen's language, payloads."""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from abc import abstractmethod

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import Settings, load_settings
from bot.db import Database, get_database
from bot.services.notifications import Rules
from bot.services.text import rasa_payload

logger = logging.getLogger(__name__)

INTERRUPT_CONFIDENCE = 0.8
# Requests that end an open form (see data/rules/forms.yml) instead of answering it.
ESCAPE_INTENTS = {
    "delete_my_data", "stop_notifications", "list_tasks", "my_signups",
    "my_reports", "sign_up", "cancel_signup", "change_language",
}


@lru_cache(maxsize=None)
def settings() -> Settings:
    return load_settings()


def rules() -> Rules:
    """Quiet hours and follow-up delay, for services that plan messages."""
    return Rules.from_settings(settings())


def database() -> Database:
    return get_database(settings().database_url)


def language(tracker: Tracker) -> str:
    return tracker.get_slot("language") or "en"


def utter_in(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], response: str, lang: str, **values: Any
) -> None:
    """Utter a domain response in `lang` now, before a `language` slot change reaches Rasa.

    Rasa picks a response's variation with the slots it had before this action's
    events, so a reply that confirms a new language is chosen here instead.
    """
    variations = domain.get("responses", {}).get(response) or []
    chosen = next(
        (v for v in variations for c in v.get("condition") or [] if c.get("name") == "language" and c.get("value") == lang),
        next((v for v in variations if not v.get("condition")), None),
    )
    if chosen is None:
        dispatcher.utter_message(response=response, **values)
        return
    buttons = [{**b, "title": str(b["title"]).format(**values)} for b in chosen.get("buttons") or []]
    dispatcher.utter_message(text=str(chosen.get("text", "")).format(**values), buttons=buttons or None)


payload = rasa_payload


def latest_text(tracker: Tracker) -> str:
    """The citizen's words, or "" when the message was a button payload."""
    text = (tracker.latest_message or {}).get("text") or ""
    return "" if text.startswith("/") else text


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def entity_value(tracker: Tracker, entity: str) -> Any:
    return next(tracker.get_latest_entity_values(entity), None)


def channel_metadata(tracker: Tracker) -> dict[str, Any]:
    """The `coprod` block a channel attaches to a message (photos, location); see README."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    block = metadata.get("coprod") if isinstance(metadata, dict) else None
    return block if isinstance(block, dict) else {}


def escaping(tracker: Tracker) -> bool:
    """The citizen asked for something else (a command, or clearly another request)."""
    intent, confidence = latest_intent(tracker)
    text = (tracker.latest_message or {}).get("text") or ""
    return intent in ESCAPE_INTENTS and (text.startswith("/") or confidence >= INTERRUPT_CONFIDENCE)


def ask_consent(dispatcher: CollectingDispatcher) -> list[EventType]:
    """Show the privacy notice; the next yes/no answers it."""
    dispatcher.utter_message(response="utter_privacy_notice")
    return [SlotSet("pending", "consent")]


def message_key(tracker: Tracker) -> str | None:
    """A key for "this message of this citizen": the channel's if it gives one, else Rasa's.

    Stored with what the message creates, so a redelivered message creates nothing twice.
    """
    message_id = channel_metadata(tracker).get("message_key") or (tracker.latest_message or {}).get("message_id")
    return f"{tracker.sender_id}:{message_id}" if message_id else None


class LeavableForm(FormValidationAction):
    """A form the citizen can leave (another request, see data/rules/forms.yml) or cancel
    with "no" while one of `cancel_at` is asked. Another request fills nothing, so the
    form rejects and the rules answer it."""

    cancel_at: tuple[str, ...] = ()

    @abstractmethod
    def cancelled(self, tracker: Tracker) -> list[EventType]:
        """Slot events that complete the form as cancelled."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if escaping(tracker):
            return []
        intent, _ = latest_intent(tracker)
        if intent == "deny" and tracker.get_slot("requested_slot") in self.cancel_at:
            return self.cancelled(tracker)
        return await super().run(dispatcher, tracker, domain)
