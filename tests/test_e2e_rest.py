"""The newcomer's walk-through against the real Rasa server and action server.

Sign up for the demo patrol, report a broken light with an address, see it
under "my reports", give feedback, erase everything.
"""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from bot.db import Database
from bot.models import Citizen, Contribution, Feedback, Signup
from tests.processes import Assistant

pytestmark = pytest.mark.e2e


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def buttons(replies: list[dict]) -> dict[str, str]:
    return {b["title"]: b["payload"] for r in replies for b in r.get("buttons") or []}


def reference_id(replies: list[dict]) -> int:
    """The report's id from "Your reference is R-1042" (other suites share this database)."""
    return int(re.search(r"R-(\d+)", texts(replies)).group(1)) - 1000


def log_size(assistant: Assistant) -> dict[str, int]:
    return {name: (assistant.workdir / f"{name}.log").stat().st_size for name in ("rasa", "actions")}


def errors_since(assistant: Assistant, sizes: dict[str, int]) -> list[str]:
    """ERROR lines Rasa and the action server wrote since `sizes` (an ERROR means a fault)."""
    found = []
    for name, start in sizes.items():
        with open(assistant.workdir / f"{name}.log", "rb") as log:
            log.seek(start)
            found += [line for line in log.read().decode(errors="replace").splitlines() if " ERROR " in line or "[error" in line]
    return found


def test_newcomer_walkthrough(assistant: Assistant) -> None:
    me = "e2e-citizen"
    sizes = log_size(assistant)
    replies = assistant.say(me, "hi")
    assert "Is that OK?" in texts(replies)
    replies = assistant.say(me, buttons(replies)["👍 I agree"])
    assert "Which area" in texts(replies)
    replies = assistant.say(me, buttons(replies)["Riverside"])
    assert "Riverside" in texts(replies)

    replies = assistant.say(me, "which tasks can I join?")
    assert "Night safety patrol" in texts(replies)
    patrol_join = next(b["payload"] for r in replies if "patrol" in r.get("text", "") for b in r["buttons"])
    replies = assistant.say(me, patrol_join)
    assert "You're in: Night safety patrol" in texts(replies)

    replies = assistant.say(me, "the street light outside the pharmacy on Rue Victor Hugo is broken")
    assert "photo" in texts(replies).lower()
    replies = assistant.say(me, "/deny")
    assert "Street lighting" in texts(replies) and "Rue Victor Hugo" in texts(replies)
    replies = assistant.say(me, "/affirm")
    assert "Your reference is R-" in texts(replies)
    report_id = reference_id(replies)

    replies = assistant.say(me, "what happened to my reports?")
    assert "Street lighting · received" in texts(replies)

    replies = assistant.say(me, "I want to give feedback")
    assert "1 (bad) to 5 (great)" in texts(replies)
    replies = assistant.say(me, buttons(replies)["4"])
    replies = assistant.say(me, "The patrol briefing was very clear")
    assert "Thank you for your feedback" in texts(replies)

    db = Database(assistant.env["DATABASE_URL"])
    with db.session() as session:
        citizen = session.query(Citizen).filter_by(sender_id=me).one()
        mine = [signup.id for signup in session.query(Signup).filter_by(citizen_id=citizen.id, status="active")]
    assert mine
    replies = assistant.say(me, "delete my data")
    assert "cannot be undone" in texts(replies)
    replies = assistant.say(me, buttons(replies)["Yes, erase everything"])
    assert "erased" in texts(replies)

    with db.session() as session:
        assert session.query(Citizen).filter_by(sender_id=me).count() == 0
        report = session.get(Contribution, report_id)
        assert report.description is None and report.citizen_id is None and report.category == "lighting"
        assert session.query(Feedback).filter_by(comment="The patrol briefing was very clear").count() == 0, "erased"
        assert 4 in [f.rating for f in session.query(Feedback)]
        assert session.query(Signup).filter(Signup.id.in_(mine), Signup.status == "active").count() == 0
    db.dispose()
    with sqlite3.connect(assistant.env["RASA_TRACKER_URL"].removeprefix("sqlite:///")) as tracker_db:
        stored = [row[0] for row in tracker_db.execute("SELECT data FROM events WHERE sender_id = ?", (me,))]
    assert stored, "the conversation goes on after erasure"
    assert not [data for data in stored if "Victor Hugo" in data or "briefing" in data]
    assert errors_since(assistant, sizes) == [], "a clean walk-through (rating buttons included) logs no ERROR"


def test_photos_and_coordinates_arrive_as_metadata(assistant: Assistant) -> None:
    me = "e2e-photographer"
    media = Path(assistant.env["MEDIA_DIR"])
    for name in ("one.jpg", "two.jpg"):
        (media / name).write_bytes(b"\xff\xd8 fake jpeg")
    assistant.say(me, "/greet")
    assistant.say(me, "/affirm")
    replies = assistant.say(
        me,
        "rubbish dumped here",
        metadata={"coprod": {"photos": [{"path": "one.jpg"}, {"path": "two.jpg"}],
                             "location": {"latitude": 48.8566, "longitude": 2.3522}}},
    )
    assert "2 photo(s)" in texts(replies), texts(replies)
    replies = assistant.say(me, "/affirm")
    assert "Your reference is R-" in texts(replies)
    db = Database(assistant.env["DATABASE_URL"])
    with db.session() as session:
        report = session.get(Contribution, reference_id(replies))
        assert (report.category, report.latitude) == ("waste", 48.8566)
        assert sorted(p.path for p in report.photos) == ["one.jpg", "two.jpg"]
    db.dispose()


@pytest.mark.parametrize(
    "text",
    ["", "x" * 4096, "🙂🙂🙂", "مرحبا، أريد الإبلاغ عن مشكلة", "'; DROP TABLE citizens; --", '/sign_up{"task_id":"99999"}'],
)
def test_bad_input_gets_a_polite_answer(assistant: Assistant, text: str) -> None:
    replies = assistant.say("e2e-bad-input", text)
    assert replies and all(r.get("text") for r in replies)


def test_someone_who_never_consented_can_still_make_the_assistant_forget_the_conversation(assistant: Assistant) -> None:
    me = "e2e-stranger"
    replies = assistant.say(me, "hello, my number is 0555 99 88 77 and I live at 3 Mill Road")
    assert "Is that OK?" in texts(replies)
    replies = assistant.say(me, "/delete_my_data")
    assert "no personal data" in texts(replies)
    with sqlite3.connect(assistant.env["RASA_TRACKER_URL"].removeprefix("sqlite:///")) as tracker_db:
        stored = [row[0] for row in tracker_db.execute("SELECT data FROM events WHERE sender_id = ?", (me,))]
    assert not [data for data in stored if "0555" in data or "Mill Road" in data]
