"""Erasure keeps anonymous counts and nothing that identifies the citizen."""
from __future__ import annotations

from pathlib import Path

from bot.db import Database
from bot.models import CallbackToken, Citizen, Contribution, Feedback, InboxMessage, Photo, Signup
from bot.services import buttons, citizens, inbox, signups
from bot.services.contributions import ContributionInput, PhotoInput, create_contribution
from bot.services.feedback import record_feedback
from bot.services.inbox import Incoming
from bot.services.privacy import delete_files, erase_citizen
from tests.conftest import RULES, spots_taken, make_citizen, make_group_task


def test_erase_removes_identity_text_places_and_photos(db: Database, media_dir: Path) -> None:
    make_citizen(db, "ana")
    make_citizen(db, "ben")
    task_id = make_group_task(db, capacity=2)
    (media_dir / "a.jpg").write_bytes(b"photo")
    with db.session() as session:
        citizens.set_neighbourhood(session, "ana", "riverside")
        signups.sign_up(session, "ana", task_id, RULES)
        signups.sign_up(session, "ben", task_id, RULES)
        create_contribution(
            session, "ana",
            ContributionInput(category="waste", description="I live at 3 Mill Lane", location_text="3 Mill Lane",
                              latitude=48.856613, longitude=2.352222, photos=[PhotoInput("a.jpg")]),
            media_dir, 10_000,
        )
        session.query(Contribution).one().idempotency_key = "ana:inbox:1"
        record_feedback(session, "ana", 4, "Ana from number 3", task_id)
        inbox.accept(session, Incoming("tg:1", "ana", "ana", "I live at 3 Mill Lane", {}))
        buttons.issue(session, "ana", [("Leave: Night safety patrol", "/cancel_signup")])
    with db.session() as session:
        summary = erase_citizen(session, "ana")
    assert summary.found and summary.contributions_kept == 1 and summary.photo_files == ("a.jpg",)
    assert summary.signups_cancelled == 1 and summary.feedback_kept == 1
    assert delete_files(media_dir, summary.photo_files) == 1
    assert not (media_dir / "a.jpg").exists()
    with db.session() as session:
        assert session.query(Citizen).filter_by(sender_id="ana").count() == 0
        kept = session.query(Contribution).one()
        assert (kept.citizen_id, kept.description, kept.location_text) == (None, None, None)
        assert (kept.latitude, kept.longitude, kept.category) == (48.86, 2.35, "waste")
        assert session.query(Photo).count() == 0
        feedback = session.query(Feedback).one()
        assert (feedback.rating, feedback.comment, feedback.citizen_id) == (4, None, None)
        assert spots_taken(session, task_id) == 1
        assert session.query(Signup).filter_by(status="active").count() == 1
        assert session.query(InboxMessage).count() == 0 and session.query(CallbackToken).count() == 0
        assert kept.idempotency_key is None
    with db.session() as session:
        assert not erase_citizen(session, "ana").found


def test_neighbourhood_matching_is_tolerant(db: Database) -> None:
    with db.session() as session:
        def match(typed: str) -> str | None:
            found = citizens.match_neighbourhood(session, typed)
            return found.name if found else None

        assert match("riverside") == "Riverside"
        assert match("RIVERSIDE ") == "Riverside"
        assert match("belle vue") == "Belle-Vue"
        assert match("bellevue") == "Belle-Vue"
        assert match("Bèlle-Vüe") == "Belle-Vue"
        assert match("Hilcrest") == "Hillcrest"
        assert match("old twon") == "Old Town"
        assert match("Timbuktu") is None
        assert match("") is None
        assert match("🙂") is None
