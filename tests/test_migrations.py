"""Alembic's schema is the models' schema, so `db upgrade` builds what the code expects."""
from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sqlalchemy import CheckConstraint

from bot.db import make_engine
from bot.migrate import upgrade
from bot.models import Base


def schema_differences(url: str) -> list:  # type: ignore[type-arg]
    """What Alembic's autogenerate would change to reach the models."""
    engine = make_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return list(differences)


def test_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    upgrade(url)
    differences = schema_differences(url)
    internal = [d for d in differences if d[0] == "remove_table" and d[1].name == "sqlite_sequence"]  # AUTOINCREMENT's
    assert [d for d in differences if d not in internal] == []


def test_migrations_keep_every_named_check_constraint(tmp_path: Path) -> None:
    """Batch migrations rebuild SQLite tables; the rebuilt tables must keep their CHECKs."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        schema = {
            row[0]: row[1]
            for row in connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        }
    engine.dispose()
    for table in Base.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                assert f"CONSTRAINT {constraint.name} CHECK" in schema[table.name], constraint.name


def test_upgrading_keeps_sign_ups_and_gives_each_scheduled_task_an_occurrence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO tasks (id, title, description, kind, category, place, starts_at, ends_at, "
            "capacity, taken, status, created_at) VALUES (1, 'Patrol', '', 'group', 'safety', '', "
            "'2026-12-01 19:00:00', '2026-12-01 21:00:00', 3, 1, 'open', '2026-11-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO citizens (id, sender_id, language, notifications, created_at) "
            "VALUES (1, 'ana', 'en', 1, '2026-11-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO signups (id, task_id, citizen_id, status, created_at) "
            "VALUES (1, 1, 1, 'active', '2026-11-01')"
        )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        occurrences = connection.exec_driver_sql("SELECT id, task_id, capacity, taken FROM occurrences").fetchall()
        signups = connection.exec_driver_sql("SELECT occurrence_id, occurrence_key FROM signups").fetchall()
    engine.dispose()
    assert occurrences == [(1, 1, 3, 1)]
    assert signups == [(1, 1)]


def test_upgrading_gives_each_citizen_a_channel_and_an_address(tmp_path: Path) -> None:
    """Telegram's citizens keep their chat id as address; REST/terminal ones cannot be reached."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0006")
    engine = make_engine(url)
    with engine.begin() as connection:
        for key, sender in enumerate(("123456789", "local-1a2b3c", "-100200"), 1):
            connection.exec_driver_sql(
                "INSERT INTO citizens (id, sender_id, language, notifications, progress_notes, created_at) "
                f"VALUES ({key}, '{sender}', 'en', 1, 1, '2026-11-01')"
            )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT sender_id, channel, address FROM citizens ORDER BY id").fetchall()
    engine.dispose()
    assert rows == [("123456789", "telegram", "123456789"), ("local-1a2b3c", "terminal", None), ("-100200", "telegram", "-100200")]


def test_every_migration_runs_on_postgresql_and_builds_the_models_schema(postgres_template) -> None:  # type: ignore[no-untyped-def]
    """`db upgrade` on a fresh PostgreSQL 15 (booleans default to true/false, not 1/0)."""
    server, template = postgres_template
    url = server.new_database()
    upgrade(url)
    upgrade(url)
    differences = schema_differences(url)
    assert differences == []
