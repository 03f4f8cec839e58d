"""Shared fixtures: a migrated SQLite file per test, and the app pointed at it."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

from bot.db import Database, get_database
from bot.migrate import upgrade
from bot.models import utcnow
from sqlalchemy.orm import Session

from bot.services import citizens, occurrences, tasks
from bot.services.notifications import Rules
from bot.services.timing import QuietHours
from bot.services.demo import ensure_neighbourhoods
from tests.postgres import PostgresServer
from tests.redis_server import RedisServer
from tests.processes import Assistant, demo_assistant

NEIGHBOURHOODS = ["Old Town", "Riverside", "Hillcrest", "Station Quarter", "Market District", "Belle-Vue"]


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    path = tmp_path / "media"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[PostgresServer, str]]:
    """A PostgreSQL server for this run, with a database migrated once to copy from."""
    server = PostgresServer().start()
    try:
        server.execute("CREATE DATABASE template_coprod")
        upgrade(server.url("template_coprod"))
        yield server, "template_coprod"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server for this run (tests/redis_server.py)."""
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database: a SQLite file, or with COPROD_TEST_DB=postgresql a fresh
    PostgreSQL database (`make test` runs the service tests both ways)."""
    if os.environ.get("COPROD_TEST_DB") == "postgresql":
        server, template = request.getfixturevalue("postgres_template")
        return str(server.new_database(template))
    url = f"sqlite:///{tmp_path / 'coprod.db'}"
    upgrade(url)
    return url


@pytest.fixture
def db(database_url: str, tmp_path: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A real, migrated database that the actions also use."""
    url = database_url
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MEDIA_DIR", str(media_dir))
    monkeypatch.setenv("COPROD_VAR_DIR", str(tmp_path))
    from actions.common import settings

    settings.cache_clear()
    get_database.cache_clear()
    database = Database(url)
    with database.session() as session:
        ensure_neighbourhoods(session, NEIGHBOURHOODS)
    yield database
    database.dispose()
    get_database.cache_clear()
    settings.cache_clear()


RULES = Rules(QuietHours.parse("off", "UTC"))


def spots_taken(session: Session, task_id: int) -> int:
    """How many spots are taken in the task's next session."""
    return occurrences.next_occurrence(session, task_id).taken


def make_citizen(db: Database, sender_id: str, consent: bool = True, channel: str = "telegram") -> None:
    """A citizen reached on `channel` at their sender id (readable names stand in for chat ids)."""
    with db.session() as session:
        if consent:
            citizen = citizens.give_consent(session, sender_id)
            citizen.channel, citizen.address = channel, sender_id


def make_group_task(db: Database, capacity: int = 3, title: str = "Night safety patrol") -> int:
    start = utcnow() + timedelta(days=2)
    with db.session() as session:
        task = tasks.create_task(
            session, title=title, kind="group", category="safety", place="Footbridge",
            starts_at=start, ends_at=start + timedelta(hours=2), capacity=capacity,
        )
        return task.id


def make_collective_task(db: Database, title: str = "Report illegal dumping") -> int:
    with db.session() as session:
        return tasks.create_task(session, title=title, kind="collective", category="waste").id


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """Rasa with the trained model and the action server, on a seeded demo database."""
    model = Path(os.environ.get("COPROD_MODEL", "models/coprod.tar.gz")).resolve()
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make model` (make test does it)")
    helper = demo_assistant(tmp_path_factory.mktemp("e2e"), model, NEIGHBOURHOODS)
    helper.start()
    yield helper
    helper.stop()
