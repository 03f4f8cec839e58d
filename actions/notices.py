"""Answers to what the assistant asked on its own: reminders, feedback prompts, follow-ups.

Buttons name the question (entity `notice`); a typed "yes" or "no" answers the
latest open one, so the context lives in the database, not only in Rasa's memory.
"""
from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import database, entity_value, language, latest_text, rules, settings
from bot.models import utcnow
from bot.i18n import format_when
from bot.services import notifications, signups, tasks, workflow
from bot.services.citizens import find_citizen
from bot.services.when import parse_when

logger = logging.getLogger(__name__)


def answer_notice(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    yes: bool,
    kinds: tuple[str, ...] = notifications.ANSWERABLE,
) -> list[EventType] | None:
    """Handle a yes/no to a scheduled question; None when there is no open question."""
    named = entity_value(tracker, "notice")
    with database().session() as session:
        citizen = find_citizen(session, tracker.sender_id)
        notice = notifications.open_notice(session, citizen, named) if citizen else None
        if notice is not None and notice.kind not in kinds:
            notice = None
        if notice is None:
            if named is None:
                return None
            dispatcher.utter_message(response="utter_notice_expired")
            return []
        if not notifications.mark_answered(notice, "yes" if yes else "no"):
            dispatcher.utter_message(response="utter_already_answered")
            return []
        if notice.kind == "reminder":
            return _reminder(dispatcher, session, notice, yes)
        if notice.kind == "feedback_prompt":
            return _took_part(dispatcher, session, notice, yes)
        return _still_fixed(dispatcher, session, notice, yes)


def _reminder(dispatcher: CollectingDispatcher, session: Any, notice: Any, yes: bool) -> list[EventType]:
    title = tasks.title_in(notice.occurrence.task, notice.citizen.language)
    if yes:
        signups.set_attendance(session, notice.citizen_id, notice.occurrence_id, "confirmed")
        dispatcher.utter_message(response="utter_see_you_there", title=title)
    else:
        signups.cancel_occurrence_signup(session, notice.citizen_id, notice.occurrence_id)
        dispatcher.utter_message(response="utter_spot_freed", title=title)
    return []


def _took_part(dispatcher: CollectingDispatcher, session: Any, notice: Any, yes: bool) -> list[EventType]:
    signups.set_attendance(session, notice.citizen_id, notice.occurrence_id, "attended" if yes else "absent")
    if not yes:
        dispatcher.utter_message(response="utter_missed_it")
        return []
    dispatcher.utter_message(response="utter_glad_you_took_part")
    return [
        SlotSet("task_id", str(notice.task_id)),
        SlotSet("occurrence_id", str(notice.occurrence_id)),
        FollowupAction("feedback_form"),
    ]


def _still_fixed(dispatcher: CollectingDispatcher, session: Any, notice: Any, yes: bool) -> list[EventType]:
    reference = notice.contribution.reference
    if yes:
        dispatcher.utter_message(response="utter_glad_still_fixed", reference=reference)
    else:
        workflow.reopen(session, notice.contribution)
        dispatcher.utter_message(response="utter_report_reopened", reference=reference)
    return []


class ActionRemindLater(Action):
    """Ask the open question again in 2 hours, or when the citizen says."""

    def name(self) -> str:
        return "action_remind_later"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        now = utcnow()
        tz = ZoneInfo(settings().timezone)
        with database().session() as session:
            citizen = find_citizen(session, tracker.sender_id)
            notice = notifications.open_notice(session, citizen, entity_value(tracker, "notice"), now) if citizen else None
            if notice is None:
                dispatcher.utter_message(response="utter_remind_later")
                return []
            wanted = parse_when(latest_text(tracker), tz, now, language(tracker))
            due = notifications.remind_later(session, notice, rules(), wanted, now)
        if due is None:
            dispatcher.utter_message(response="utter_remind_later_too_late")
        else:
            when = format_when(due, language(tracker), settings().timezone)
            dispatcher.utter_message(response="utter_remind_later_at", when=when)
        return []
