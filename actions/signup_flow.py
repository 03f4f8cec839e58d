"""Sign-up helpers shared by the sign-up action and the consent step that resumes it."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from sqlalchemy.orm import Session

from actions.common import database, entity_value, language, payload, rules, settings
from bot.i18n import format_when, notice_text
from bot.models import Occurrence, Task
from bot.services import occurrences, signups, tasks
from bot.services.citizens import find_citizen
from bot.services.errors import AlreadySignedUp, ChooseOccurrence, TaskClosed, TaskFull, TaskNotFound


def task_card(dispatcher: CollectingDispatcher, session: Session, task: Task, lang: str) -> None:
    """One message per task with its Join button; scheduled tasks show their next session."""
    join = payload("sign_up", task_id=task.id)
    following = occurrences.next_occurrence(session, task.id)
    if task.kind == "group":
        dispatcher.utter_message(
            response="utter_task_card_recurring" if task.recurrence else "utter_task_card_group",
            title=tasks.title_in(task, lang),
            when=format_when(following.starts_at if following else task.starts_at, lang, settings().timezone),
            place=tasks.place_in(task, lang),
            spots=following.spots_left if following else 0,
            capacity=task.capacity,
            signup_payload=join,
        )
    else:
        dispatcher.utter_message(
            response="utter_task_card_collective",
            title=tasks.title_in(task, lang),
            place=tasks.place_in(task, lang),
            description=tasks.description_in(task, lang),
            signup_payload=join,
        )


def show_tasks(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    category: str | None = None,
    intro: str | None = "utter_tasks_intro",
    exclude: int | None = None,
) -> None:
    with database().session() as session:
        citizen = find_citizen(session, tracker.sender_id)
        area = citizen.neighbourhood_id if citizen else None
        found = tasks.list_open_tasks(session, tasks.TaskFilter(area, category), limit=6)
        found = [t for t in found if t.id != exclude][:5]
        if not found:
            dispatcher.utter_message(response="utter_no_tasks")
            return
        if intro:
            dispatcher.utter_message(response=intro)
        for task in found:
            task_card(dispatcher, session, task, language(tracker))


def sign_up_and_tell(
    dispatcher: CollectingDispatcher, tracker: Tracker, task_id: object
) -> list[EventType]:
    """Sign up and answer every outcome; the slot is cleared whatever happens."""
    lang = language(tracker)
    done = [SlotSet("task_id", None)]
    try:
        with database().session() as session:
            joined = signups.sign_up(
                session,
                tracker.sender_id,
                task_id,
                rules(),
                occurrence_id=entity_value(tracker, "occurrence_id"),
                series=entity_value(tracker, "series") is not None,
            )
            task, first = joined.task, joined.first
            when = format_when(first.starts_at if first else None, lang, settings().timezone)
            if joined.series:
                dispatcher.utter_message(
                    response="utter_joined_series", title=tasks.title_in(task, lang), when=when,
                    count=len(joined.signups),
                )
            elif first is not None:
                dispatcher.utter_message(
                    response="utter_signed_up", title=tasks.title_in(task, lang), when=when,
                    place=tasks.place_in(task, lang),
                )
            else:
                dispatcher.utter_message(response="utter_joined_collective", title=tasks.title_in(task, lang))
    except ChooseOccurrence as choice:
        choose_occurrence(dispatcher, choice, lang)
    except AlreadySignedUp:
        with database().session() as session:
            title = tasks.title_in(tasks.get_open_task(session, task_id), lang)
        dispatcher.utter_message(response="utter_already_signed_up", title=title)
    except TaskFull:
        with database().session() as session:
            full = session.get(Task, tasks.parse_task_id(task_id))
            title, category = tasks.title_in(full, lang), full.category
        dispatcher.utter_message(response="utter_task_full", title=title)
        show_tasks(dispatcher, tracker, category, intro=None, exclude=tasks.parse_task_id(task_id))
    except (TaskNotFound, TaskClosed):
        dispatcher.utter_message(response="utter_task_unavailable")
        show_tasks(dispatcher, tracker)
    return done


def choose_occurrence(dispatcher: CollectingDispatcher, choice: ChooseOccurrence, lang: str) -> None:
    """A recurring task: one button per coming date, and one for all of them."""
    with database().session() as session:
        task = session.get(Task, choice.task_id)
        options = [session.get(Occurrence, key) for key in choice.options]
        dispatcher.utter_message(response="utter_choose_occurrence", title=tasks.title_in(task, lang))
        dates = [
            {
                "title": format_when(o.starts_at, lang, settings().timezone),
                "payload": payload("sign_up", task_id=task.id, occurrence_id=o.id),
            }
            for o in options
        ]
        every = {"title": notice_text("button.series", lang), "payload": payload("sign_up", task_id=task.id, series="yes")}
        dispatcher.utter_message(buttons=dates + [every])
