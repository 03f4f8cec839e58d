"""Actions with real `CollectingDispatcher` and `Tracker` objects over a real database."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import ActionSubmitFeedback, ValidateFeedbackForm
from actions.onboarding import ActionAffirm, ActionAskErase, ActionGreet, ActionSetNeighbourhood
from actions.reports import (
    ActionAskReportConfirmed,
    ActionLeaveForm,
    ActionMyReports,
    ActionSubmitReport,
    ValidateReportForm,
)
from actions.session import ActionSessionStart
from actions.tasks import ActionCancelSignup, ActionListTasks, ActionMySignups, ActionSignUp
from bot.config import PROJECT_ROOT
from bot.db import Database
from bot.models import Citizen, Contribution, Feedback, Signup, Task
from tests.conftest import make_citizen, make_collective_task, make_group_task

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def tracker(
    sender: str = "ana",
    text: str = "",
    intent: str = "greet",
    confidence: float = 0.99,
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    message_id: str = "m1",
    active_loop: str | None = None,
    **slots: Any,
) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"language": "en", **slots},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
            "metadata": metadata or {},
            "message_id": message_id,
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def run(action: Any, state: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, state, DOMAIN)
    return dispatcher.messages, events


async def run_async(action: Any, state: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, state, DOMAIN)
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m["response"] for m in messages]


def test_new_citizen_sees_the_privacy_notice_and_nothing_is_stored(db: Database) -> None:
    messages, events = run(ActionGreet(), tracker(consented=False))
    assert responses(messages) == ["utter_welcome", "utter_privacy_notice"]
    assert SlotSet("pending", "consent") in events
    with db.session() as session:
        assert session.query(Citizen).count() == 0


def test_consent_then_neighbourhood_buttons(db: Database) -> None:
    messages, events = run(ActionAffirm(), tracker(intent="affirm", pending="consent", consented=False))
    assert responses(messages) == ["utter_consent_thanks", "utter_ask_neighbourhood"]
    assert [b["title"] for b in messages[1]["buttons"]][:2] == ["Belle-Vue", "Hillcrest"]
    assert SlotSet("consented", True) in events
    messages, _ = run(
        ActionSetNeighbourhood(),
        tracker(text="i live in bellevue", intent="set_neighbourhood", consented=True,
                entities=[{"entity": "neighbourhood", "value": "bellevue"}]),
    )
    assert messages[0]["response"] == "utter_neighbourhood_set"
    assert messages[0]["neighbourhood"] == "Belle-Vue"


@pytest.mark.anyio
async def test_session_start_loads_consent(db: Database) -> None:
    make_citizen(db, "ana")
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, tracker(), DOMAIN)
    assert SlotSet("consented", True) in events


def test_sign_up_by_button_and_by_words(db: Database) -> None:
    make_citizen(db, "ana")
    patrol = make_group_task(db, capacity=2)
    messages, events = run(ActionSignUp(), tracker(intent="sign_up", consented=True, task_id=str(patrol)))
    assert responses(messages) == ["utter_signed_up"]
    assert messages[0]["title"] == "Night safety patrol"
    assert SlotSet("task_id", None) in events
    messages, _ = run(ActionSignUp(), tracker(intent="sign_up", consented=True, task_id=str(patrol)))
    assert responses(messages) == ["utter_already_signed_up"]
    make_citizen(db, "ben")
    messages, _ = run(
        ActionSignUp(), tracker("ben", text="count me in for the night patrol on friday", intent="sign_up", consented=True)
    )
    assert responses(messages) == ["utter_signed_up"]


def test_full_task_offers_alternatives(db: Database) -> None:
    make_citizen(db, "ana")
    make_citizen(db, "ben")
    patrol = make_group_task(db, capacity=1)
    make_collective_task(db)
    run(ActionSignUp(), tracker(consented=True, task_id=str(patrol)))
    messages, _ = run(ActionSignUp(), tracker("ben", consented=True, task_id=str(patrol)))
    assert responses(messages) == ["utter_task_full", "utter_task_card_collective"]
    assert messages[1]["signup_payload"].startswith("/sign_up{")


@pytest.mark.parametrize("forged", ["424242", "abc", "'; DROP TABLE tasks;--"])
def test_forged_or_stale_task_payloads_get_a_clear_answer(db: Database, forged: str) -> None:
    make_citizen(db, "ana")
    make_collective_task(db)
    messages, _ = run(ActionSignUp(), tracker(consented=True, task_id=forged))
    assert responses(messages)[0] == "utter_task_unavailable"
    with db.session() as session:
        assert session.query(Signup).count() == 0
        assert session.query(Task).count() == 1


def test_sign_up_before_consent_asks_then_resumes(db: Database) -> None:
    patrol = make_group_task(db)
    messages, events = run(ActionSignUp(), tracker(consented=False, task_id=str(patrol)))
    assert responses(messages) == ["utter_consent_needed", "utter_privacy_notice"]
    messages, _ = run(ActionAffirm(), tracker(intent="affirm", pending="consent", task_id=str(patrol)))
    assert responses(messages) == ["utter_consent_thanks", "utter_signed_up"]


def test_my_signups_and_cancel(db: Database) -> None:
    make_citizen(db, "ana")
    patrol = make_group_task(db)
    run(ActionSignUp(), tracker(consented=True, task_id=str(patrol)))
    messages, _ = run(ActionMySignups(), tracker(consented=True))
    assert responses(messages) == ["utter_signups_intro", "utter_signup_item"]
    assert messages[1]["cancel_payload"] == f'/cancel_signup{{"task_id":"{patrol}"}}'
    messages, _ = run(ActionCancelSignup(), tracker(intent="cancel_signup", consented=True))
    assert responses(messages) == ["utter_signup_cancelled"]
    messages, _ = run(ActionCancelSignup(), tracker(intent="cancel_signup", consented=True))
    assert responses(messages) == ["utter_no_signups"]


def test_list_tasks_puts_the_category_first(db: Database) -> None:
    make_group_task(db)
    make_collective_task(db)
    messages, _ = run(
        ActionListTasks(), tracker(intent="list_tasks", entities=[{"entity": "category", "value": "waste"}])
    )
    assert responses(messages) == ["utter_tasks_intro", "utter_task_card_collective", "utter_task_card_group"]


@pytest.mark.anyio
async def test_report_form_fills_from_the_first_message(db: Database) -> None:
    text = "the street light outside the pharmacy on Rue Victor Hugo is broken"
    state = tracker(
        text=text, intent="report", active_loop="report_form", consented=True,
        entities=[{"entity": "category", "value": "lighting"}, {"entity": "address", "value": "Rue Victor Hugo"}],
    )
    _, slots = await run_async(ValidateReportForm(), state)
    assert slots["category"] == "lighting"
    assert slots["description"] == text
    assert slots["location"] == {"text": "Rue Victor Hugo"}
    assert "photos" not in slots


@pytest.mark.anyio
async def test_report_form_takes_photos_and_coordinates_from_metadata(db: Database) -> None:
    metadata = {"coprod": {"photos": [{"path": "a.jpg"}, {"path": "b.jpg"}],
                           "location": {"latitude": 48.1, "longitude": 2.2}}}
    state = tracker(text="", intent="report", active_loop="report_form", consented=True,
                    metadata=metadata, category="waste", description="bags", requested_slot="location")
    _, slots = await run_async(ValidateReportForm(), state)
    assert slots["location"] == {"latitude": 48.1, "longitude": 2.2}
    assert [p["path"] for p in slots["photos"]] == ["a.jpg", "b.jpg"]
    again = tracker(text="", intent="report", active_loop="report_form", consented=True, metadata=metadata,
                    category="waste", description="bags", requested_slot="location", photos=slots["photos"])
    _, slots = await run_async(ValidateReportForm(), again)
    assert len(slots["photos"]) == 2, "the same message seen twice must not double its photos"


@pytest.mark.anyio
async def test_report_form_cancel_and_interruptions(db: Database) -> None:
    cancel = tracker(text="never mind", intent="deny", active_loop="report_form", consented=True,
                     requested_slot="description", category="waste")
    _, slots = await run_async(ValidateReportForm(), cancel)
    assert slots["report_confirmed"] is False
    messages, _ = run(ActionSubmitReport(), tracker(consented=True, **slots))
    assert responses(messages) == ["utter_report_cancelled"]
    off_topic = tracker(text="what's the weather", intent="out_of_scope", active_loop="report_form",
                        consented=True, requested_slot="description", category="waste")
    _, slots = await run_async(ValidateReportForm(), off_topic)
    assert "description" not in slots
    with db.session() as session:
        assert session.query(Contribution).count() == 0


def test_report_summary_submit_is_idempotent_and_listed(db: Database, media_dir: Path) -> None:
    make_citizen(db, "ana")
    (media_dir / "a.jpg").write_bytes(b"img")
    slots = dict(consented=True, category="lighting", description="Lamp out",
                 location={"text": "Rue Victor Hugo"}, photos=[{"path": "a.jpg"}], report_confirmed=True)
    messages, _ = run(ActionAskReportConfirmed(), tracker(**slots))
    assert messages[0]["category"] == "Street lighting" and messages[0]["photo_count"] == 1
    first, _ = run(ActionSubmitReport(), tracker(intent="affirm", message_id="confirm-1", **slots))
    again, _ = run(ActionSubmitReport(), tracker(intent="affirm", message_id="confirm-1", **slots))
    assert first[0]["reference"] == again[0]["reference"]
    with db.session() as session:
        assert session.query(Contribution).count() == 1
    messages, _ = run(ActionMyReports(), tracker(consented=True))
    assert responses(messages) == ["utter_reports_intro", "utter_report_item"]
    assert messages[1]["status"] == "received" and "📷" in messages[1]["summary"]


@pytest.mark.anyio
async def test_feedback_form_and_submit(db: Database) -> None:
    make_citizen(db, "ana")
    _, slots = await run_async(
        ValidateFeedbackForm(),
        tracker(text="/give_feedback", intent="give_feedback", active_loop="feedback_form",
                entities=[{"entity": "rating", "value": "9"}], requested_slot="rating"),
    )
    assert slots.get("rating") is None
    _, slots = await run_async(
        ValidateFeedbackForm(),
        tracker(text="4", intent="give_feedback", active_loop="feedback_form", requested_slot="rating"),
    )
    assert slots["rating"] == "4"
    _, slots = await run_async(
        ValidateFeedbackForm(),
        tracker(text="skip", intent="deny", active_loop="feedback_form", requested_slot="feedback_comment", rating="4"),
    )
    assert slots["feedback_comment"] == ""
    messages, _ = run(ActionSubmitFeedback(), tracker(rating="4", feedback_comment=""))
    assert responses(messages) == ["utter_feedback_saved"]
    with db.session() as session:
        stored = session.query(Feedback).one()
        assert (stored.rating, stored.comment) == (4, None)


def test_erase_asks_then_erases_and_restarts(db: Database) -> None:
    messages, _ = run(ActionAskErase(), tracker(consented=False))
    assert responses(messages) == ["utter_nothing_to_erase"]
    make_citizen(db, "ana")
    messages, events = run(ActionAskErase(), tracker(consented=True))
    assert responses(messages) == ["utter_ask_erase"] and SlotSet("pending", "erase") in events
    messages, events = run(ActionAffirm(), tracker(intent="affirm", consented=True, pending="erase"))
    assert responses(messages) == ["utter_erased"]
    assert events[-2:] == [SlotSet("erased", True), Restarted()]
    with db.session() as session:
        assert session.query(Citizen).count() == 0


def test_a_deep_link_shows_one_task_or_says_it_is_gone(db: Database) -> None:
    patrol = make_group_task(db)
    messages, events = run(ActionListTasks(), tracker(intent="list_tasks", task_id=str(patrol)))
    assert responses(messages) == ["utter_task_card_group"] and SlotSet("task_id", None) in events
    messages, _ = run(ActionListTasks(), tracker(intent="list_tasks", task_id="777"))
    assert responses(messages) == ["utter_task_unavailable", "utter_task_card_group"]


@pytest.mark.anyio
async def test_another_request_inside_a_form_is_not_taken_as_an_answer(db: Database) -> None:
    for form, slot in (("report_form", "description"), ("feedback_form", "rating")):
        state = tracker(text="/delete_my_data", intent="delete_my_data", active_loop=form, requested_slot=slot)
        action = ValidateReportForm() if form == "report_form" else ValidateFeedbackForm()
        messages, slots = await run_async(action, state)
        assert (messages, slots) == ([], {}), "no slot filled, so the form rejects and the rules answer"
    _, events = run(ActionLeaveForm(), tracker(active_loop="report_form", category="waste"))
    assert ActiveLoop(None) in events and SlotSet("category", None) in events


@pytest.mark.anyio
async def test_feedback_can_be_cancelled_at_the_rating(db: Database) -> None:
    _, slots = await run_async(
        ValidateFeedbackForm(),
        tracker(text="no thanks", intent="deny", active_loop="feedback_form", requested_slot="rating"),
    )
    messages, _ = run(ActionSubmitFeedback(), tracker(**slots))
    assert responses(messages) == ["utter_report_cancelled"]
    with db.session() as session:
        assert session.query(Feedback).count() == 0


def test_a_cancelled_report_leaves_no_photo_file(db: Database, media_dir: Path) -> None:
    (media_dir / "orphan.jpg").write_bytes(b"img")
    slots = dict(consented=True, category="waste", description="x", location={}, photos=[{"path": "orphan.jpg"}],
                 report_confirmed=False)
    messages, _ = run(ActionSubmitReport(), tracker(intent="deny", **slots))
    assert responses(messages) == ["utter_report_cancelled"]
    assert not (media_dir / "orphan.jpg").exists()


def test_send_again_after_a_failed_save_submits_the_report(db: Database) -> None:
    make_citizen(db, "ana")
    slots = dict(consented=True, pending="report", category="roads", description="Pothole",
                 location={"text": "Mill Lane"}, photos=[], report_confirmed=True)
    messages, _ = run(ActionAffirm(), tracker(intent="affirm", **slots))
    assert responses(messages) == ["utter_report_saved"]


def test_feedback_is_stored_once_per_message(db: Database) -> None:
    for _ in range(2):
        run(ActionSubmitFeedback(), tracker(rating="5", feedback_comment="", metadata={"coprod": {"message_key": "inbox:9"}}))
    with db.session() as session:
        assert session.query(Feedback).count() == 1
