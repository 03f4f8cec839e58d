"""The report form: category, description, location, photos, confirmation."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    ask_consent,
    INTERRUPT_CONFIDENCE,
    channel_metadata,
    LeavableForm,
    message_key,
    database,
    entity_value,
    language,
    latest_intent,
    latest_text,
    settings,
)
from actions.feedback import clear_feedback
from bot.i18n import category_label, status_label
from bot.models import CATEGORIES
from bot.services import contributions, signups, tasks
from bot.services.contributions import ContributionInput, PhotoInput, valid_coordinates
from bot.services.errors import ConsentRequired, ServiceError
from bot.services.places import whole_place
from bot.services.privacy import delete_files
from bot.services.text import clean_text

logger = logging.getLogger(__name__)

REPORT_SLOTS = ("category", "description", "location", "photos", "report_confirmed")
INTERRUPT_INTENTS = {"out_of_scope", "help", "bot_challenge"}
CANCELLED = "cancelled"


def _asked(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def _photos_in(tracker: Tracker) -> list[dict[str, str]]:
    found = []
    for item in channel_metadata(tracker).get("photos") or []:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            found.append({"path": item["path"], "mime_type": str(item.get("mime_type", "image/jpeg"))})
    return found


def _address_in(tracker: Tracker) -> str | None:
    """The place the citizen named, whole (the NLU may stop after "behind")."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    for entity in message.get("entities") or []:
        if entity.get("entity") == "address" and isinstance(entity.get("start"), int) and isinstance(entity.get("end"), int):
            return whole_place(text, entity["start"], entity["end"])[:300] or None
    found = entity_value(tracker, "address")
    return str(found) if found else None


def _location_in(tracker: Tracker) -> dict[str, Any] | None:
    """Coordinates (and a venue's name and address) a channel attached to the message."""
    location = channel_metadata(tracker).get("location")
    if not isinstance(location, dict):
        return None
    coordinates = valid_coordinates(location.get("latitude"), location.get("longitude"))
    if coordinates is None:
        return None
    found: dict[str, Any] = {"latitude": coordinates[0], "longitude": coordinates[1]}
    if isinstance(location.get("address"), str) and location["address"].strip():
        found["text"] = location["address"].strip()[:300]
    return found


class ValidateReportForm(LeavableForm):
    """Fills the form from whatever the citizen sends; re-asks instead of guessing."""

    def name(self) -> str:
        return "validate_report_form"

    cancel_at = ("category", "description")

    def cancelled(self, tracker: Tracker) -> list[EventType]:
        filled = {"category": CANCELLED, "description": "", "location": {}, "photos": []}
        return [SlotSet(slot, tracker.get_slot(slot) or value) for slot, value in filled.items()] + [
            SlotSet("report_confirmed", False)
        ]

    @staticmethod
    def _interrupted(tracker: Tracker) -> bool:
        intent, confidence = latest_intent(tracker)
        return intent in INTERRUPT_INTENTS and confidence >= INTERRUPT_CONFIDENCE

    def extract_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        value = entity_value(tracker, "category")
        if value in CATEGORIES:
            return {"category": value}
        if _asked(tracker, "category") and not self._interrupted(tracker):
            return {"category": None}
        return {}

    def extract_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = latest_text(tracker).strip()
        if _asked(tracker, "description"):
            if self._interrupted(tracker):
                return {}
            return {"description": text or None}
        if tracker.get_slot("description") or not text:
            return {}
        says_what = entity_value(tracker, "category") or entity_value(tracker, "address")
        if (says_what and len(text.split()) >= 3) or _photos_in(tracker):
            return {"description": text}
        return {}

    def extract_location(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        current = tracker.get_slot("location") or {}
        shared = _location_in(tracker)
        address = _address_in(tracker)
        if shared:
            return {"location": {**current, **shared}}
        if address and not current:
            return {"location": {"text": str(address)}}
        if not _asked(tracker, "location") or self._interrupted(tracker):
            return {}
        intent, _ = latest_intent(tracker)
        if intent == "deny":
            return {"location": {"skipped": True}}
        text = latest_text(tracker).strip()
        return {"location": {"text": text} if text else None}

    def extract_photos(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        new = _photos_in(tracker)
        if new:
            merged = {p["path"]: p for p in (tracker.get_slot("photos") or []) + new}
            return {"photos": list(merged.values())}
        if not _asked(tracker, "photos") or self._interrupted(tracker):
            return {}
        intent, _ = latest_intent(tracker)
        return {"photos": [] if intent == "deny" else None}

    def extract_report_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not _asked(tracker, "report_confirmed") or self._interrupted(tracker):
            return {}
        intent, _ = latest_intent(tracker)
        answer = {"affirm": True, "deny": False}.get(intent or "")
        return {"report_confirmed": answer}

    def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"category": value if value in CATEGORIES or value == CANCELLED else None}

    def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"description": clean_text(value) if isinstance(value, str) else None}

    def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"location": value if isinstance(value, dict) else None}

    def validate_photos(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"photos": value if isinstance(value, list) else None}

    def validate_report_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"report_confirmed": value if isinstance(value, bool) else None}


class ActionAskReportConfirmed(Action):
    """Show the whole report before it is sent, so the citizen can still change their mind."""

    def name(self) -> str:
        return "action_ask_report_confirmed"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        location = tracker.get_slot("location") or {}
        if location.get("text"):
            where = location["text"]
        elif location.get("latitude") is not None:
            where = f"{location['latitude']:.5f}, {location['longitude']:.5f}"
        else:
            where = "—"
        description = tracker.get_slot("description") or "—"
        dispatcher.utter_message(
            response="utter_report_summary",
            category=category_label(tracker.get_slot("category"), language(tracker)),
            description=description if len(description) <= 300 else description[:297] + "…",
            location=where,
            photo_count=len(tracker.get_slot("photos") or []),
        )
        return []


def _task_for(session: Any, tracker: Tracker, category: str, description: str) -> int | None:
    """A report belongs to a task the citizen joined when the slot or their words say so."""
    joined = {s.task_id for s in signups.active_signups(session, tracker.sender_id)}
    if tracker.get_slot("task_id"):
        wanted = tasks.parse_task_id(tracker.get_slot("task_id"))
        return wanted if wanted in joined else None
    matches = [t.id for t in tasks.match_tasks(session, description, category) if t.id in joined]
    return matches[0] if len(matches) == 1 else None


def submit_report(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Store the report once (keyed by the confirming message) and give its reference."""
    location = tracker.get_slot("location") or {}
    category = tracker.get_slot("category")
    description = tracker.get_slot("description") or ""
    key = message_key(tracker)
    try:
        with database().session() as session:
            contribution = contributions.create_contribution(
                session,
                tracker.sender_id,
                ContributionInput(
                    category=category,
                    description=description,
                    location_text=location.get("text"),
                    latitude=location.get("latitude"),
                    longitude=location.get("longitude"),
                    photos=[PhotoInput(**p) for p in tracker.get_slot("photos") or []],
                    task_id=_task_for(session, tracker, category, description),
                    idempotency_key=key,
                ),
                settings().media_dir,
                settings().max_photo_bytes,
            )
            reference = contribution.reference
    except ConsentRequired:
        return ask_consent(dispatcher)
    except (ServiceError, Exception):
        logger.exception("could not store a report")
        dispatcher.utter_message(
            response="utter_report_failed", buttons=[{"title": "↻", "payload": "/affirm"}]
        )
        return [SlotSet("pending", "report")]
    dispatcher.utter_message(response="utter_report_saved", reference=reference)
    return clear_report()


def clear_report() -> list[EventType]:
    return [SlotSet(slot, None) for slot in REPORT_SLOTS] + [
        SlotSet("pending", None),
        SlotSet("task_id", None),
    ]


class ActionSubmitReport(Action):
    def name(self) -> str:
        return "action_submit_report"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not tracker.get_slot("report_confirmed") or tracker.get_slot("category") == CANCELLED:
            with database().session() as session:
                unused = contributions.unattached(session, [p["path"] for p in tracker.get_slot("photos") or []])
            delete_files(settings().media_dir, unused)
            dispatcher.utter_message(response="utter_report_cancelled")
            return clear_report()
        return submit_report(dispatcher, tracker)


class ActionLeaveForm(Action):
    """End an open form without sending anything, so another request can be answered."""

    def name(self) -> str:
        return "action_leave_form"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return [ActiveLoop(None), SlotSet("requested_slot", None), *clear_report(), *clear_feedback()]


class ActionStartReport(Action):
    """A report before consent: explain why we ask, then show the notice."""

    def name(self) -> str:
        return "action_start_report"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_consent_needed")
        return ask_consent(dispatcher)


class ActionMyReports(Action):
    def name(self) -> str:
        return "action_my_reports"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        try:
            with database().session() as session:
                mine = contributions.contributions_of(session, tracker.sender_id, limit=5)
                items = [
                    {
                        "reference": c.reference,
                        "category": category_label(c.category, lang),
                        "status": status_label(c.status, lang),
                        "summary": _summary(c.description, len(c.photos)),
                    }
                    for c in mine
                ]
        except ConsentRequired:
            items = []
        if not items:
            dispatcher.utter_message(response="utter_no_reports")
            return []
        dispatcher.utter_message(response="utter_reports_intro")
        for item in items:
            dispatcher.utter_message(response="utter_report_item", **item)
        return []


def _summary(description: str | None, photos: int) -> str:
    text = (description or "").replace("\n", " ")
    text = text if len(text) <= 80 else text[:77] + "…"
    return f"{text} {'📷' * min(photos, 3)}".strip()
