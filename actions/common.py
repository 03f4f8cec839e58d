"""What every action needs: the database, settings, the citizen's language, payloads."""
from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.config import Settings, load_settings
from bot.db import Database, get_database

logger = logging.getLogger(__name__)

INTERRUPT_CONFIDENCE = 0.8


@lru_cache(maxsize=None)
def settings() -> Settings:
    return load_settings()


def database() -> Database:
    return get_database(settings().database_url)


def language(tracker: Tracker) -> str:
    return tracker.get_slot("language") or "en"


def payload(intent: str, **entities: Any) -> str:
    """A button payload Rasa parses back into this intent and entities."""
    return f"/{intent}{json.dumps({k: str(v) for k, v in entities.items()}, separators=(',', ':'))}"


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


def utter_main_menu(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(response="utter_main_menu")
