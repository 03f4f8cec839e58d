"""PostgreSQL: a pilot's SQLite data moves over whole, and the database keeps the rules."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from bot.config import PROJECT_ROOT
from bot.db import Database
from bot.models import Base, Citizen, Contribution
from bot.services import citizens, signups
from bot.services.contributions import ContributionInput, create_contribution
from bot.services.demo import seed_demo
from bot.services.feedback import record_feedback
from bot.migrate import upgrade
from tests.conftest import NEIGHBOURHOODS, RULES


def counts(url: str) -> dict[str, int]:
    database = Database(url)
    with database.session() as session:
        found = {t.name: session.execute(select(func.count()).select_from(t)).scalar_one() for t in Base.metadata.sorted_tables}
    database.dispose()
    return found


def test_db_copy_moves_a_pilot_from_sqlite_to_postgresql(tmp_path: Path, media_dir: Path, postgres_template) -> None:  # type: ignore[no-untyped-def]
    server, _ = postgres_template
    source = f"sqlite:///{tmp_path / 'pilot.db'}"
    upgrade(source)
    pilot = Database(source)
    with pilot.session() as session:
        seed_demo(session, NEIGHBOURHOODS)
        citizens.give_consent(session, "4242")
        first = create_contribution(session, "4242", ContributionInput(category="waste", description="بزاف زبل قدام المدرسة"),
                                    media_dir, 10)
        later = create_contribution(session, "4242", ContributionInput(category="waste", description="zbel bzaf"), media_dir, 10)
        first.duplicate_of = later.id  # points forward: copied after its target
    with pilot.session() as session:
        task_id = session.execute(select(func.min(Base.metadata.tables["tasks"].c.id))).scalar_one()
        signups.sign_up(session, "4242", task_id, RULES)
        record_feedback(session, "4242", None, "merci")
    pilot.dispose()
    target = server.new_database()
    env = {"DATABASE_URL": source, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "bot", "db", "copy", target], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Copied" in done.stdout
    assert counts(target) == counts(source) and counts(source)["contributions"] == 2
    moved = Database(target)
    with moved.session() as session:
        copied = session.query(Contribution).order_by(Contribution.id).all()
        assert copied[0].description == "بزاف زبل قدام المدرسة" and copied[0].duplicate_of == copied[1].id
        citizens.give_consent(session, "5151")  # new rows get new ids: the sequences moved on
        create_contribution(session, "5151", ContributionInput(category="roads", description="hole"), media_dir, 10)
    with moved.session() as session:
        assert session.query(Citizen).count() == 2 and session.query(Contribution).count() == 3
    moved.dispose()
    again = subprocess.run([sys.executable, "-m", "bot", "db", "copy", target], cwd=PROJECT_ROOT, env=env,
                           capture_output=True, text=True)
    assert again.returncode == 1 and "already has data" in again.stdout
