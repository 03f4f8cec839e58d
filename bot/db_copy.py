"""Move a pilot's data from one database to another (SQLite to PostgreSQL), table by table.

The target is migrated first and must be empty; rows are copied in foreign-key
order in batches, inside one transaction, and PostgreSQL's id sequences are
moved past the copied ids so new rows do not collide.
"""
from __future__ import annotations

import logging

from sqlalchemy import Integer, Table, func, select, text, update
from sqlalchemy.engine import Connection

from bot.db import make_engine
from bot.migrate import upgrade
from bot.models import Base

logger = logging.getLogger(__name__)

BATCH = 1000


class TargetNotEmpty(Exception):
    """The target already holds data: copying would mix two cities' records."""


def copy_database(source_url: str, target_url: str) -> dict[str, int]:
    """Copy every table of the models; returns the number of rows per table."""
    upgrade(source_url)
    upgrade(target_url)
    source, target = make_engine(source_url), make_engine(target_url, foreign_keys=False)
    copied: dict[str, int] = {}
    try:
        with source.connect() as reading, target.begin() as writing:
            for table in Base.metadata.sorted_tables:
                if writing.execute(select(func.count()).select_from(table)).scalar_one():
                    raise TargetNotEmpty(table.name)
            for table in Base.metadata.sorted_tables:
                copied[table.name] = _copy_table(reading, writing, table)
                logger.info("copied %s rows of %s", copied[table.name], table.name)
            if writing.dialect.name == "postgresql":
                for table in Base.metadata.sorted_tables:
                    key = table.primary_key.columns
                    if len(key) == 1 and isinstance(next(iter(key)).type, Integer):
                        column = next(iter(key)).name
                        writing.execute(text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), "
                            f"COALESCE((SELECT MAX({column}) FROM {table.name}), 1), "
                            f"(SELECT MAX({column}) FROM {table.name}) IS NOT NULL)"
                        ))
    finally:
        source.dispose()
        target.dispose()
    return copied


def _copy_table(reading: Connection, writing: Connection, table: Table) -> int:
    """Rows in key order; a column pointing into its own table (a report marked as the
    duplicate of a later one) is filled in afterwards, as PostgreSQL checks keys at once."""
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    key = list(table.primary_key.columns)
    count, later = 0, []
    rows = reading.execute(select(table).order_by(*key)).mappings()
    while batch := rows.fetchmany(BATCH):
        values = [dict(row) for row in batch]
        for row in values:
            pointers = {name: row[name] for name in own if row[name] is not None}
            if pointers:
                later.append(({column.name: row[column.name] for column in key}, pointers))
                row.update(dict.fromkeys(pointers))
        writing.execute(table.insert(), values)
        count += len(values)
    for where, pointers in later:
        writing.execute(update(table).where(*(table.c[name] == value for name, value in where.items())).values(**pointers))
    return count
