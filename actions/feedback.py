"""The feedback form: a 1-5 rating, then an optional comment."""
from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import LeavableForm, database, entity_value, latest_intent, latest_text, message_key
from bot.services.errors import NotAParticipant, ServiceError
from bot.services.feedback import parse_rating, record_feedback
from bot.services.tasks import parse_task_id

logger = logging.getLogger(__name__)

RATING_IN_SENTENCE = re.compile(r"\b([1-5])\s*(?:/\s*5|stars?|out of 5)", re.IGNORECASE)


CANCELLED = "cancelled"


class ValidateFeedbackForm(LeavableForm):
    cancel_at = ("rating",)

    def name(self) -> str:
        return "validate_feedback_form"

    def cancelled(self, tracker: Tracker) -> list[EventType]:
        return [SlotSet("rating", CANCELLED), SlotSet("feedback_comment", "")]

    def extract_rating(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        value = parse_rating(entity_value(tracker, "rating"))
        text = latest_text(tracker)
        if value is None and tracker.get_slot("requested_slot") == "rating":
            value = parse_rating(text)
            if value is None:
                dispatcher.utter_message(response="utter_rating_invalid")
        elif value is None:
            found = RATING_IN_SENTENCE.search(text)
            value = int(found.group(1)) if found else None
            if value is None:
                return {}
        return {"rating": str(value) if value else None}

    def extract_feedback_comment(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "feedback_comment":
            return {}
        intent, _ = latest_intent(tracker)
        text = latest_text(tracker).strip()
        if intent == "deny" and len(text.split()) <= 3:
            return {"feedback_comment": ""}
        return {"feedback_comment": text or None}


def clear_feedback() -> list[EventType]:
    return [
        SlotSet("rating", None),
        SlotSet("feedback_comment", None),
        SlotSet("task_id", None),
        SlotSet("occurrence_id", None),
    ]


class ActionSubmitFeedback(Action):
    def name(self) -> str:
        return "action_submit_feedback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        task_id = tracker.get_slot("task_id")
        if tracker.get_slot("rating") == CANCELLED:
            dispatcher.utter_message(response="utter_report_cancelled")
            return clear_feedback()
        try:
            with database().session() as session:
                record_feedback(
                    session,
                    tracker.sender_id,
                    parse_rating(tracker.get_slot("rating")),
                    tracker.get_slot("feedback_comment") or None,
                    parse_task_id(task_id),
                    idempotency_key=message_key(tracker),
                    occurrence_id=parse_task_id(tracker.get_slot("occurrence_id")),
                )
        except NotAParticipant:
            logger.info("a rating of task %s from someone who did not take part was refused", task_id)
            dispatcher.utter_message(response="utter_feedback_not_participant")
        except ServiceError:
            logger.info("feedback refused", exc_info=True)
            dispatcher.utter_message(response="utter_something_went_wrong")
        else:
            dispatcher.utter_message(response="utter_feedback_saved")
        return clear_feedback()
