"""Browsing tasks, joining and leaving them."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import ask_consent, database, entity_value, language, latest_text, payload, settings
from actions.notices import answer_notice
from actions.signup_flow import show_tasks, sign_up_and_tell, task_card
from bot.i18n import format_when
from bot.models import CATEGORIES
from bot.services import signups, tasks
from bot.services.errors import NotSignedUp, TaskClosed, TaskNotFound


def _category(tracker: Tracker) -> str | None:
    value = entity_value(tracker, "category")
    return value if value in CATEGORIES else None


class ActionListTasks(Action):
    def name(self) -> str:
        return "action_list_tasks"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        task_id = tracker.get_slot("task_id")
        if task_id is None:
            show_tasks(dispatcher, tracker, _category(tracker))
            return []
        try:
            with database().session() as session:
                task_card(dispatcher, session, tasks.get_open_task(session, task_id), language(tracker))
        except (TaskNotFound, TaskClosed):
            dispatcher.utter_message(response="utter_task_unavailable")
            show_tasks(dispatcher, tracker, intro=None)
        return [SlotSet("task_id", None)]


class ActionSignUp(Action):
    """Join the task named by a button, or the one the citizen's words point to."""

    def name(self) -> str:
        return "action_sign_up"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        task_id = tracker.get_slot("task_id")
        if task_id is None:
            words = latest_text(tracker)
            with database().session() as session:
                matches = tasks.match_tasks(session, words, _category(tracker)) if words else []
                task_id = matches[0].id if len(matches) == 1 else None
            if task_id is None:
                show_tasks(dispatcher, tracker, _category(tracker), intro="utter_which_task")
                return []
        if not tracker.get_slot("consented"):
            dispatcher.utter_message(response="utter_consent_needed")
            return [SlotSet("task_id", str(task_id))] + ask_consent(dispatcher)
        return sign_up_and_tell(dispatcher, tracker, task_id)


class ActionCancelSignup(Action):
    def name(self) -> str:
        return "action_cancel_signup"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not tracker.get_slot("consented"):
            dispatcher.utter_message(response="utter_no_signups")
            return []
        task_id = tracker.get_slot("task_id")
        if task_id is None:
            answered = answer_notice(dispatcher, tracker, yes=False, kinds=("reminder",))
            if answered is not None:
                return answered
        with database().session() as session:
            active = signups.active_signups(session, tracker.sender_id)
            if task_id is None and len(active) == 1:
                task_id = active[0].task_id
            if task_id is None and active:
                words = latest_text(tracker)
                wanted = tasks.match_tasks(session, words, _category(tracker)) if words else []
                mine = [t.id for t in wanted if t.id in {s.task_id for s in active}]
                task_id = mine[0] if len(mine) == 1 else None
        if not active:
            dispatcher.utter_message(response="utter_no_signups")
            return [SlotSet("task_id", None)]
        if task_id is None:
            dispatcher.utter_message(response="utter_which_signup_to_cancel")
            list_signups(dispatcher, tracker, intro=False)
            return []
        try:
            with database().session() as session:
                task = signups.cancel_signup(session, tracker.sender_id, task_id)
                title = tasks.title_in(task, language(tracker))
        except NotSignedUp:
            dispatcher.utter_message(response="utter_not_signed_up")
            return [SlotSet("task_id", None)]
        dispatcher.utter_message(response="utter_signup_cancelled", title=title)
        return [SlotSet("task_id", None)]


def list_signups(dispatcher: CollectingDispatcher, tracker: Tracker, intro: bool = True) -> None:
    lang = language(tracker)
    with database().session() as session:
        active = signups.active_signups(session, tracker.sender_id)
        if not active:
            dispatcher.utter_message(response="utter_no_signups")
            return
        if intro:
            dispatcher.utter_message(response="utter_signups_intro")
        shown: set[int] = set()
        for signup in active:
            task = signup.task
            if task.id in shown:
                continue
            shown.add(task.id)
            starts = signup.occurrence.starts_at if signup.occurrence else None
            dispatcher.utter_message(
                response="utter_signup_item",
                title=tasks.title_in(task, lang),
                when=format_when(starts, lang, settings().timezone) or "-",
                place=tasks.place_in(task, lang),
                cancel_payload=payload("cancel_signup", task_id=task.id),
            )


class ActionMySignups(Action):
    def name(self) -> str:
        return "action_my_signups"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not tracker.get_slot("consented"):
            dispatcher.utter_message(response="utter_no_signups")
            return []
        list_signups(dispatcher, tracker)
        return []
