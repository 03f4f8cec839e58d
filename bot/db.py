"""Engine and session handling: one `Database` per process, built on demand."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import lru_cache, partial
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.config import load_settings

logger = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection, _record, foreign_keys: bool = True) -> None:  # type: ignore[no-untyped-def]
    """WAL lets readers work while one writer commits; FKs are off by default in SQLite.

    pysqlite's own transaction handling is switched off so that `_sqlite_begin`
    can start every unit of work with BEGIN IMMEDIATE: a read-then-write
    transaction then waits for the write lock instead of failing with
    SQLITE_BUSY when another process committed in between.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection) -> None:  # type: ignore[no-untyped-def]
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, foreign_keys: bool = True) -> Engine:
    """Create an engine; SQLite files get their folder, WAL and foreign keys.

    SQLite files get a connection pool (SQLAlchemy 1.4 opens a new connection per
    unit of work otherwise, which costs more than the work itself).
    Migrations pass `foreign_keys=False`: SQLite rebuilds a table to alter it,
    and dropping the old copy would otherwise cascade into the rows that
    reference it.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        on_disk = bool(path) and path != ":memory:"
        if on_disk:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            future=True,
            connect_args={"check_same_thread": False, "timeout": 10},
            **({"poolclass": QueuePool} if on_disk else {}),
        )
        event.listen(engine, "connect", partial(_sqlite_pragmas, foreign_keys=foreign_keys))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


class Database:
    """Owns the engine and hands out sessions that commit or roll back as a unit.

    Keep each session short (one unit of work, no awaiting or sleeping inside):
    on SQLite it holds the database's write lock from its first statement.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._factory = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on any error."""
        with self._factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


@lru_cache(maxsize=None)
def get_database(url: str | None = None) -> Database:
    """The process-wide database, created on first use (never at import)."""
    return Database(url or load_settings().database_url)
