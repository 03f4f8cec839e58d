"""The dashboard as several uvicorn workers behind one port: a staff session and its CSRF
token work whichever worker answers, and log-in throttling counts across them (Redis)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from bot.config import PROJECT_ROOT
from bot.db import Database
from bot.services import staff
from tests.processes import free_port, wait_until_up

PASSWORD = "correct horse battery"


@pytest.fixture
def dashboard(db: Database, tmp_path: Path, redis_url: str) -> Iterator[str]:
    with db.session() as session:
        staff.add(session, "staff@city.example", PASSWORD, "staff")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db.url, "MEDIA_DIR": str(tmp_path / "media"), "COPROD_VAR_DIR": str(tmp_path),
           "DASHBOARD_PORT": str(port), "DASHBOARD_WORKERS": "2", "REDIS_URL": redis_url,
           "DASHBOARD_SECRET": "k3Jq9vT2mXw8Lr5Zb7Nc4Hd6Fg1Sa0Pe-workers"}
    log = tmp_path / "dashboard.log"
    process = subprocess.Popen([sys.executable, "-m", "bot", "dashboard"], cwd=PROJECT_ROOT, env=env,
                               stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def fresh(base: str, cookies: httpx.Cookies | None = None) -> httpx.Client:
    """A client on a new connection, so the kernel may hand it to either worker."""
    return httpx.Client(base_url=base, cookies=cookies, follow_redirects=False, timeout=10)


def test_sessions_csrf_and_throttling_hold_across_workers(dashboard: str) -> None:
    with fresh(dashboard) as first:
        token = re.search(r'name="csrf" value="([^"]+)"', first.get("/login").text).group(1)
        cookies = first.cookies
    with fresh(dashboard, cookies) as second:
        logged_in = second.post("/login", data={"email": "staff@city.example", "password": PASSWORD, "csrf": token})
        assert logged_in.status_code == 303
        cookies = second.cookies
    for _ in range(6):
        with fresh(dashboard, cookies) as client:
            assert client.get("/queue").status_code == 200
    answers = []
    for _ in range(7):
        with fresh(dashboard) as client:
            page = client.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            answers.append(client.post("/login", data={"email": "staff@city.example", "password": "wrong",
                                                       "csrf": csrf}).status_code)
    assert answers[:5] == [401] * 5 and answers[5:] == [429, 429], "five failures per account and address, in all"
