"""Contributions and feedback against a real SQLite file, including hostile input."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.db import Database
from bot.models import Contribution, Feedback, Photo, utcnow
from bot.services import signups
from bot.services.contributions import ContributionInput, PhotoInput, contributions_of, create_contribution
from bot.services.errors import ConsentRequired, InvalidInput, TaskClosed
from bot.services.feedback import record_feedback
from bot.services.tasks import close_task
from tests.conftest import RULES, make_citizen, make_group_task

CAP = 1024 * 1024


def _photo(media_dir: Path, name: str, size: int = 2048) -> PhotoInput:
    (media_dir / name).write_bytes(b"\xff\xd8" + b"0" * (size - 2))
    return PhotoInput(path=name, mime_type="image/jpeg")


def test_contribution_with_several_photos(db: Database, media_dir: Path) -> None:
    make_citizen(db, "ana")
    photos = [_photo(media_dir, f"p{i}.jpg") for i in range(3)]
    with db.session() as session:
        made = create_contribution(
            session, "ana",
            ContributionInput(category="waste", description="Mattresses dumped", location_text="Mill Lane",
                              photos=photos, latitude=48.85, longitude=2.35),
            media_dir, CAP,
        )
        reference = made.reference
    with db.session() as session:
        stored = contributions_of(session, "ana")
        assert [c.reference for c in stored] == [reference]
        assert reference.startswith("R-")
        assert [p.path for p in stored[0].photos] == ["p0.jpg", "p1.jpg", "p2.jpg"]
        assert stored[0].status == "new"


@pytest.mark.parametrize(
    "path",
    ["../../etc/passwd", "/etc/passwd", "missing.jpg", "big.jpg", "p.jpg"],
)
def test_photos_outside_the_media_folder_or_too_big_are_ignored(
    db: Database, media_dir: Path, path: str
) -> None:
    make_citizen(db, "ana")
    (media_dir / "big.jpg").write_bytes(b"0" * (CAP + 1))
    (media_dir / "p.jpg").write_bytes(b"0")
    mime = "text/plain" if path == "p.jpg" else "image/jpeg"
    with db.session() as session:
        made = create_contribution(
            session, "ana", ContributionInput(category="roads", photos=[PhotoInput(path, mime)]), media_dir, CAP
        )
        assert made.photos == []


def test_same_idempotency_key_stores_once(db: Database, media_dir: Path) -> None:
    make_citizen(db, "ana")
    for _ in range(3):
        with db.session() as session:
            create_contribution(
                session, "ana", ContributionInput(category="water", idempotency_key="ana:msg-1"), media_dir, CAP
            )
    with db.session() as session:
        assert session.query(Contribution).count() == 1


@pytest.mark.parametrize(
    "text",
    [
        "x" * 4096,
        "🚮🚮 rubbish everywhere 🙄",
        "هناك نفايات في الشارع قرب المدرسة",
        "'; DROP TABLE contributions; --",
        "line one\nline two\x00\x07",
    ],
)
def test_hostile_or_unusual_text_is_stored_as_text(db: Database, media_dir: Path, text: str) -> None:
    make_citizen(db, "ana")
    with db.session() as session:
        made = create_contribution(session, "ana", ContributionInput(category="waste", description=text), media_dir, CAP)
        cid = made.id
    with db.session() as session:
        stored = session.get(Contribution, cid).description
        assert stored == text.replace("\x00", "").replace("\x07", "")
        assert session.query(Contribution).count() == 1


def test_bad_category_coordinates_and_closed_task(db: Database, media_dir: Path) -> None:
    make_citizen(db, "ana")
    with pytest.raises(InvalidInput):
        with db.session() as session:
            create_contribution(session, "ana", ContributionInput(category="aliens"), media_dir, CAP)
    with db.session() as session:
        made = create_contribution(
            session, "ana", ContributionInput(category="roads", latitude=500, longitude="x"), media_dir, CAP
        )
        assert made.latitude is None and made.longitude is None
    task_id = make_group_task(db)
    with db.session() as session:
        close_task(session, task_id)
    with pytest.raises(TaskClosed):
        with db.session() as session:
            create_contribution(session, "ana", ContributionInput(category="safety", task_id=task_id), media_dir, CAP)


def test_contributions_need_consent(db: Database, media_dir: Path) -> None:
    with pytest.raises(ConsentRequired):
        with db.session() as session:
            create_contribution(session, "nobody", ContributionInput(category="waste"), media_dir, CAP)
    with db.session() as session:
        assert session.query(Contribution).count() == 0 and session.query(Photo).count() == 0


def test_feedback_rating_and_anonymous_comment(db: Database) -> None:
    make_citizen(db, "ana")
    task_id = make_group_task(db)
    with db.session() as session:
        signups.sign_up(session, "ana", task_id, RULES)
        rated = record_feedback(session, "ana", 5, "Great team", task_id, now=utcnow() + timedelta(days=3))
        anonymous = record_feedback(session, "not-consented", None, "The app is slow")
        assert rated.citizen_id is not None and anonymous.citizen_id is None
    for bad in (0, 6):
        with pytest.raises(InvalidInput):
            with db.session() as session:
                record_feedback(session, "ana", bad, None)
    with pytest.raises(InvalidInput):
        with db.session() as session:
            record_feedback(session, "ana", None, "   ")
    with db.session() as session:
        assert session.query(Feedback).count() == 2
