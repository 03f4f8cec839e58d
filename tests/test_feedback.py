"""A task's ratings come only from people who took part, once per session each."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.db import Database
from bot.models import Feedback, Occurrence, utcnow
from bot.services import signups
from bot.services.errors import NotAParticipant
from bot.services.feedback import record_feedback
from tests.conftest import RULES, make_citizen, make_group_task


def _after(db: Database, task_id: int) -> tuple[int, object]:
    """The task's session and a moment just after it began."""
    with db.session() as session:
        occurrence = session.query(Occurrence).filter_by(task_id=task_id).one()
        return occurrence.id, occurrence.starts_at + timedelta(minutes=30)


def test_only_participants_rate_a_task_and_only_once_a_session(db: Database) -> None:
    for name in ("ana", "ben", "eve"):
        make_citizen(db, name)
    task_id = make_group_task(db)
    with db.session() as session:
        signups.sign_up(session, "ana", task_id, RULES)
        signups.sign_up(session, "ben", task_id, RULES)
    occurrence_id, later = _after(db, task_id)
    with db.session() as session:
        with pytest.raises(NotAParticipant):
            record_feedback(session, "ana", 5, None, task_id, now=utcnow())  # not before it began
        with pytest.raises(NotAParticipant):
            record_feedback(session, "eve", 1, None, task_id, now=later)  # eve did not sign up
        with pytest.raises(NotAParticipant):
            record_feedback(session, "stranger", 1, None, occurrence_id=occurrence_id, now=later)
    with db.session() as session:
        first = record_feedback(session, "ana", 2, None, task_id, idempotency_key="a1", now=later)
        again = record_feedback(session, "ana", 4, "good team", task_id, idempotency_key="a2", now=later)
        assert again.id == first.id, "a second rating of the same session replaces the first"
        assert record_feedback(session, "ana", 1, None, task_id, idempotency_key="a1", now=later).rating == 4
    with db.session() as session:
        rows = session.query(Feedback).all()
        assert [(r.rating, r.comment, r.occurrence_id) for r in rows] == [(4, "good team", occurrence_id)]


def test_someone_who_said_they_missed_it_cannot_rate_it_but_anyone_may_rate_the_service(db: Database) -> None:
    make_citizen(db, "ana")
    task_id = make_group_task(db)
    with db.session() as session:
        joined = signups.sign_up(session, "ana", task_id, RULES)
        signups.set_attendance(session, joined.signups[0].citizen_id, joined.signups[0].occurrence_id, "absent")
    occurrence_id, later = _after(db, task_id)
    with db.session() as session:
        with pytest.raises(NotAParticipant):
            record_feedback(session, "ana", 5, None, occurrence_id=occurrence_id, now=later)
        record_feedback(session, "ana", 3, "the app is easy", now=later)
        record_feedback(session, "not-consented", None, "more lights please", now=later)
    with db.session() as session:
        assert sorted((r.task_id, r.comment) for r in session.query(Feedback)) == [
            (None, "more lights please"), (None, "the app is easy")]


def test_a_rating_stuffed_for_someone_elses_task_is_refused_politely(db: Database) -> None:
    from actions.feedback import ActionSubmitFeedback
    from tests.test_actions import responses, run, tracker

    make_citizen(db, "eve")
    task_id = make_group_task(db)
    messages, _ = run(ActionSubmitFeedback(), tracker(rating="1", feedback_comment="", task_id=str(task_id), message_id="m1"))
    assert responses(messages) == ["utter_feedback_not_participant"]
    with db.session() as session:
        assert session.query(Feedback).count() == 0
