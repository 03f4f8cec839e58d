"""`make run`: start Rasa, the action server and the bridge, and stop them together."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot import redaction
from bot.config import PROJECT_ROOT, load_settings

logger = logging.getLogger(__name__)

MODEL = PROJECT_ROOT / "models" / "coprod.tar.gz"


def commands(python: str, rasa: str) -> dict[str, list[str]]:
    return {
        "actions": [rasa, "run", "actions", "--actions", "actions", "--port", "5055"],
        "rasa": [
            rasa, "run", "--model", str(MODEL), "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml", "--interface", "127.0.0.1", "--port", "5005",
        ],
        "bridge": [python, "-m", "bot", "run"],
        "dashboard": [python, "-m", "bot", "dashboard"],
    }


def local_only_env() -> dict[str, str]:
    """Rasa's REST channel trusts the sender id it is given, so nothing but this
    machine may reach Rasa or the action server (Sanic reads SANIC_HOST)."""
    return {**os.environ, "SANIC_HOST": os.environ.get("SANIC_HOST", "127.0.0.1")}


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    redaction.install(settings)
    Path(os.environ.get("COPROD_VAR_DIR", PROJECT_ROOT / "var")).mkdir(parents=True, exist_ok=True)
    rasa = str(Path(sys.executable).with_name("rasa"))
    children: dict[str, subprocess.Popen] = {}
    for name, argv in commands(sys.executable, rasa).items():
        logger.info("starting %s", name)
        children[name] = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=local_only_env())
    logger.info("Rasa at %s; the assistant is ready once Rasa logs 'Rasa server is up and running'", settings.rasa_url)
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    logger.error("%s exited with code %s; stopping everything", name, child.returncode)
                    stopping = True
            time.sleep(0.5)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
