"""Exports stream page by page and are rate limited; every request body is capped
before a handler reads it."""
from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import insert
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from bot.db import Database
from bot.models import Contribution, utcnow
from bot.services import open_data
from bot.services.review import QueueFilter
from tests.test_web import login, site  # noqa: F401  (the dashboard fixture)

ROWS = 2 * open_data.PAGE + 345


def many_reports(db: Database, count: int) -> None:
    now = utcnow()
    with db.session() as session:
        session.execute(insert(Contribution), [
            {"category": "waste", "description": f"bins {n}", "status": "new",
             "latitude": 35.93 + n / 1e5, "longitude": 0.09, "created_at": now, "updated_at": now}
            for n in range(count)
        ])


def test_an_export_reads_the_database_a_page_at_a_time_and_keeps_every_row(db: Database) -> None:
    many_reports(db, ROWS)
    opened: list[int] = []

    @contextmanager
    def sessions() -> Iterator[Session]:
        opened.append(1)
        with db.session() as session:
            yield session

    rows = open_data.export_rows(sessions, QueueFilter(), public=True)
    first = next(rows)
    assert len(opened) == 1, "nothing beyond the first page is read before it is needed"
    rest = list(rows)
    references = [first["reference"], *[r["reference"] for r in rest]]
    assert len(set(references)) == ROWS and references == sorted(references, key=lambda r: int(r[2:]))
    assert len(opened) == 4, "three pages and one empty read"
    assert "description" not in first and first["latitude"] == 35.93


def test_public_exports_stream_whole_and_are_rate_limited_per_address(site: TestClient, db: Database) -> None:  # noqa: F811
    many_reports(db, ROWS)
    table = list(csv.DictReader(io.StringIO(site.get("/open-data/contributions.csv").text)))
    assert len({row["reference"] for row in table}) == ROWS
    features = site.get("/open-data/contributions.geojson").json()["features"]
    assert len(features) == ROWS and features[0]["geometry"]["coordinates"] == [0.09, 35.93]
    assert site.get("/open-data/contributions.xml").status_code == 404
    answers = [site.get("/open-data/contributions.geojson").status_code for _ in range(10)]
    assert answers[-2:] == [429, 429] and answers.count(200) == 8, "ten a minute per address"
    login(site, "staff")
    assert site.get("/export/contributions.csv").status_code == 200, "staff count per account"


def test_bodies_over_the_cap_are_refused_before_any_handler_reads_them(site: TestClient, tmp_path: Path) -> None:  # noqa: F811
    huge = "x" * (300 * 1024)
    assert site.post("/login", data={"email": huge, "password": "p", "csrf": "c"}).status_code == 413

    def chunked() -> Iterator[bytes]:
        for _ in range(100):
            yield b"email=" + b"y" * 4096

    streamed = site.post("/login", content=chunked(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413
    assert site.post("/open311/v2/requests.json", content=b"a" * (65 * 1024),
                     headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 413
    assert site.post("/login", data={"email": "a@b.c", "password": "p", "csrf": "c"}).status_code == 403, \
        "small forms still reach their checks"
