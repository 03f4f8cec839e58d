"""Greeting, consent, neighbourhood and language, and the yes/no router."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import ask_consent, database, entity_value, language, latest_text, payload, settings, utter_in
from actions.notices import answer_notice
from actions.reports import submit_report
from actions.signup_flow import sign_up_and_tell
from bot.i18n import LANGUAGE_NAMES
from bot.models import LANGUAGES
from bot.services import citizens, privacy
from bot.services.errors import ConsentRequired, InvalidInput

logger = logging.getLogger(__name__)


def ask_neighbourhood(dispatcher: CollectingDispatcher) -> None:
    with database().session() as session:
        names = [n.name for n in citizens.list_neighbourhoods(session)]
    buttons = [{"title": name, "payload": payload("set_neighbourhood", neighbourhood=name)} for name in names]
    dispatcher.utter_message(response="utter_ask_neighbourhood", buttons=buttons)


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if tracker.get_slot("consented"):
            dispatcher.utter_message(response="utter_welcome_back")
            return []
        dispatcher.utter_message(response="utter_welcome")
        return ask_consent(dispatcher)


class ActionAffirm(Action):
    """"Yes" means what the last question asked: consent, or erasure."""

    def name(self) -> str:
        return "action_affirm"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        pending = None if entity_value(tracker, "notice") else tracker.get_slot("pending")
        if pending == "consent":
            return self._consent(dispatcher, tracker)
        if pending == "erase":
            return erase(dispatcher, tracker)
        if pending == "report":
            return submit_report(dispatcher, tracker)
        answered = answer_notice(dispatcher, tracker, yes=True)
        if answered is not None:
            return answered
        dispatcher.utter_message(response="utter_main_menu")
        return []

    def _consent(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        with database().session() as session:
            citizen = citizens.give_consent(session, tracker.sender_id, language(tracker))
            has_area = citizen.neighbourhood_id is not None
        dispatcher.utter_message(response="utter_consent_thanks")
        events: list[EventType] = [SlotSet("pending", None), SlotSet("consented", True)]
        if tracker.get_slot("task_id"):
            return events + sign_up_and_tell(dispatcher, tracker, tracker.get_slot("task_id"))
        if not has_area:
            ask_neighbourhood(dispatcher)
        else:
            dispatcher.utter_message(response="utter_main_menu")
        return events


class ActionDeny(Action):
    def name(self) -> str:
        return "action_deny"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        pending = None if entity_value(tracker, "notice") else tracker.get_slot("pending")
        if pending == "consent":
            dispatcher.utter_message(response="utter_consent_declined")
        elif pending == "erase":
            dispatcher.utter_message(response="utter_erase_cancelled")
        else:
            answered = answer_notice(dispatcher, tracker, yes=False)
            if answered is not None:
                return answered + [SlotSet("pending", None)]
            dispatcher.utter_message(response="utter_main_menu")
        return [SlotSet("pending", None), SlotSet("task_id", None)]


class ActionSetNeighbourhood(Action):
    def name(self) -> str:
        return "action_set_neighbourhood"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        typed = entity_value(tracker, "neighbourhood") or latest_text(tracker)
        if not tracker.get_slot("consented"):
            return ask_consent(dispatcher)
        if not entity_value(tracker, "neighbourhood") and not typed:
            ask_neighbourhood(dispatcher)
            return []
        try:
            with database().session() as session:
                area = citizens.set_neighbourhood(session, tracker.sender_id, str(typed)).name
        except InvalidInput:
            dispatcher.utter_message(response="utter_neighbourhood_unknown", typed=str(typed)[:60])
            ask_neighbourhood(dispatcher)
            return []
        except ConsentRequired:
            return ask_consent(dispatcher)
        dispatcher.utter_message(response="utter_neighbourhood_set", neighbourhood=area)
        return []


class ActionChangeLanguage(Action):
    def name(self) -> str:
        return "action_change_language"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        wanted = str(entity_value(tracker, "language") or "").lower()
        if wanted not in LANGUAGES:
            dispatcher.utter_message(response="utter_ask_language")
            return []
        saved = bool(tracker.get_slot("consented"))
        if saved:
            with database().session() as session:
                citizens.set_language(session, tracker.sender_id, wanted)
        utter_in(dispatcher, domain, "utter_language_set", wanted, language_name=LANGUAGE_NAMES[wanted])
        return [SlotSet("language", wanted)]


class ActionStopNotifications(Action):
    def name(self) -> str:
        return "action_stop_notifications"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        weekly_only = entity_value(tracker, "notice") is not None
        try:
            with database().session() as session:
                if weekly_only:
                    citizens.set_progress_notes(session, tracker.sender_id, False)
                else:
                    citizens.set_notifications(session, tracker.sender_id, False)
        except ConsentRequired:
            logger.debug("stop requested by a citizen we hold no data on")
        dispatcher.utter_message(response="utter_progress_stopped" if weekly_only else "utter_notifications_stopped")
        return []


class ActionResumeNotifications(Action):
    def name(self) -> str:
        return "action_resume_notifications"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            with database().session() as session:
                citizens.set_notifications(session, tracker.sender_id, True)
        except ConsentRequired:
            return ask_consent(dispatcher)
        dispatcher.utter_message(response="utter_notifications_resumed")
        return []


class ActionAskErase(Action):
    def name(self) -> str:
        return "action_ask_erase"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with database().session() as session:
            known = citizens.find_citizen(session, tracker.sender_id) is not None
            if not known:  # nothing was kept but the conversation itself: forget that too
                privacy.erase_citizen(session, tracker.sender_id)
        if not known:
            dispatcher.utter_message(response="utter_nothing_to_erase")
            return [SlotSet("erased", True), Restarted()]
        dispatcher.utter_message(response="utter_ask_erase")
        return [SlotSet("pending", "erase")]


def erase(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Erase, then restart the conversation so no slot keeps personal data."""
    with database().session() as session:
        summary = privacy.erase_citizen(session, tracker.sender_id)
    privacy.delete_files(settings().media_dir, summary.photo_files)
    if not summary.found:
        dispatcher.utter_message(response="utter_nothing_to_erase")
        return [SlotSet("erased", True), Restarted()]
    dispatcher.utter_message(
        response="utter_erased",
        contributions=summary.contributions_kept,
        feedback=summary.feedback_kept,
    )
    return [SlotSet("erased", True), Restarted()]
