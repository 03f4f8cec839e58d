"""Telegram bridge benchmark: simulated citizens through the fake Bot API server.

Each simulated citizen sends N messages, waiting for the answer to each and
then `--think` seconds (a person reads before typing; Telegram allows about
one message per second per chat, so a citizen firing messages faster than
that measures Telegram's limit, not the bridge); many citizens talk at once. Side by side, the same messages go
straight to Rasa's REST channel: the floor the bridge cannot beat.

Usage: python bench/telegram_e2e.py [--users 200] [--messages 5] [--concurrency 20]
Rasa's built-in Telegram channel is not measured: it builds its aiogram Bot
with Telegram's production address, so it cannot reach the fake server
without patching Rasa.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import NEIGHBOURHOODS  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.processes import Assistant, BridgeProcess, demo_assistant  # noqa: E402

MESSAGES = ["hi", "what can you do?", "which tasks can I join?", "are you a bot?", "thanks"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def through_rasa(assistant: Assistant, user: int, count: int, think: float) -> list[float]:
    """The floor: the same messages straight to Rasa's REST channel over a kept-alive connection."""
    latencies = []
    with httpx.Client(timeout=120) as client:
        for text in MESSAGES[:count]:
            started = time.perf_counter()
            response = client.post(f"{assistant.rasa_url}/webhooks/rest/webhook",
                                   json={"sender": f"rest-{user}", "message": text})
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)
            time.sleep(think)
    return latencies


def through_telegram(fake: FakeTelegram, user: int, count: int, think: float) -> list[float]:
    latencies = []
    for text in MESSAGES[:count]:
        start = len(fake.calls)
        started = time.monotonic()
        fake.push_message(user, text)
        reply = fake.wait_for(
            lambda c: c["method"] == "sendMessage" and c["chat_id"] == user and c["status"] == 200,
            timeout=120, start=start,
        )
        latencies.append(reply["time"] - started)
        time.sleep(think)
    return latencies


def run(label: str, work, users: int, concurrency: int, think: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = [x for result in pool.map(work, range(users)) for x in result]
    busy = time.perf_counter() - started - think * len(latencies) / concurrency
    return {
        "label": label,
        "messages": len(latencies),
        "per_second": len(latencies) / busy,
        "p50": statistics.median(latencies) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0, help="seconds a citizen waits before the next message")
    parser.add_argument("--model", default=str(ROOT / "models" / "coprod.tar.gz"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="coprod-bench-"))
    assistant = demo_assistant(workdir, Path(args.model), NEIGHBOURHOODS)
    url = assistant.env["DATABASE_URL"]
    assistant.start()
    rows = []
    try:
        with FakeTelegram(rate_limits=True) as fake:
            bridge = BridgeProcess(workdir, {
                "TELEGRAM_TOKEN": "1:BENCH", "TELEGRAM_BASE_URL": f"{fake.url}/bot", "DATABASE_URL": url,
                "MEDIA_DIR": str(workdir / "media"), "RASA_URL": assistant.rasa_url,
            })
            bridge.start()
            try:
                fake.wait_for(lambda c: c["method"] == "getUpdates", timeout=60)
                through_rasa(assistant, -1, 1, 0)
                rows.append(run("Rasa REST (floor)", lambda u: through_rasa(assistant, u, args.messages, args.think),
                                args.users, args.concurrency, args.think))
                rows.append(run("Coprod bridge (PTB)",
                                lambda u: through_telegram(fake, 10_000 + u, args.messages, args.think),
                                args.users, args.concurrency, args.think))
                throttled = len(fake.throttled)
            finally:
                bridge.stop()
    finally:
        assistant.stop()
    print(f"{args.users} citizens x {args.messages} messages, {args.concurrency} talking at once, "
          f"{args.think:g} s between a reply and the next message")
    print("| path | messages | messages/s (think time excluded) | reply p50 ms | reply p95 ms |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['label']} | {row['messages']} | {row['per_second']:.1f} | {row['p50']:.0f} | {row['p95']:.0f} |")
    floor, bridge_row = rows
    print(f"bridge / floor at p50: {bridge_row['p50'] / floor['p50']:.2f} (target <= 1.20); 429 answers: {throttled}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
