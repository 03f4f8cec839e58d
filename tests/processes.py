"""Start the real Rasa server and action server for end-to-end tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx

from bot.config import PROJECT_ROOT

STARTUP_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up:\n{log.read_text()[-3000:]}")


@dataclass
class Assistant:
    """Rasa + action server on free ports, sharing one app database."""

    workdir: Path
    model: Path
    env: dict[str, str] = field(default_factory=dict)
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start(self) -> None:
        rasa = str(Path(sys.executable).with_name("rasa"))
        env = {
            **os.environ,
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
            "RASA_TRACKER_URL": f"sqlite:///{self.workdir / 'tracker.db'}",
            "REDIS_URL": "",
            "RASA_TELEMETRY_ENABLED": "false",
            "SANIC_HOST": "127.0.0.1",
            **self.env,
        }
        self.env = env
        self._spawn("actions", [rasa, "run", "actions", "--actions", "actions", "--port", str(self.actions_port)], env)
        self.start_rasa()
        wait_until_up(f"http://127.0.0.1:{self.actions_port}/health", self.processes["actions"], self.workdir / "actions.log")

    def start_rasa(self) -> None:
        rasa = str(Path(sys.executable).with_name("rasa"))
        self._spawn(
            "rasa",
            [rasa, "run", "--model", str(self.model), "--endpoints", "endpoints.yml",
             "--credentials", "credentials.yml", "--interface", "127.0.0.1", "--port", str(self.rasa_port)],
            self.env,
        )
        wait_until_up(self.rasa_url, self.processes["rasa"], self.workdir / "rasa.log")

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.processes):
            process = self.processes.pop(key)
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.workdir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def say(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
        body: dict = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        response = httpx.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, timeout=60)
        response.raise_for_status()
        return list(response.json())


def demo_assistant(workdir: Path, model: Path, neighbourhoods: list[str]) -> Assistant:
    """An Assistant (not started) over a fresh, migrated database holding the demo city."""
    from bot.db import Database
    from bot.migrate import upgrade
    from bot.services.demo import seed_demo

    url = f"sqlite:///{workdir / 'coprod.db'}"
    upgrade(url)
    database = Database(url)
    with database.session() as session:
        seed_demo(session, neighbourhoods)
    database.dispose()
    (workdir / "media").mkdir(exist_ok=True)
    return Assistant(workdir, model, env={"DATABASE_URL": url, "MEDIA_DIR": str(workdir / "media")})


@dataclass
class BridgeProcess:
    """`python -m bot run` against the fake Telegram server, as a real separate process."""

    workdir: Path
    env: dict[str, str]
    name: str = "bridge"
    process: subprocess.Popen | None = None
    root: Path = PROJECT_ROOT  # another checkout's code, for benchmarks against an earlier commit

    def start(self) -> None:
        log = open(self.workdir / f"{self.name}.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=self.root, env={**os.environ, **self.env},
            stdout=log, stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return (self.workdir / f"{self.name}.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextmanager
def served(app: object) -> Iterator[str]:
    """An ASGI app on a free local port in a thread, for clients that need a real server."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="wsproto"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
