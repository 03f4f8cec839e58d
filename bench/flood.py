"""Flood benchmark: how long a newcomer waits for an answer while 40 chats flood the bot.

Real Rasa, action server and bridge (`python -m bot run`) against the fake Bot API
server. First newcomers ask "which tasks can I join?" (Rasa, the action server and
the database) with nobody else talking: the baseline. Then 40 chats send 1,000
messages in about 15 s while a newcomer asks the same every second; their reply
times are compared with the baseline's. `--against REV` runs the same flood with
the bridge of an earlier commit (a git worktree) side by side.

Usage: python bench/flood.py [--chats 40] [--messages 25] [--seconds 15] [--against REV]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.telegram_e2e import percentile  # noqa: E402
from tests.conftest import NEIGHBOURHOODS  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.processes import Assistant, BridgeProcess, demo_assistant  # noqa: E402

QUESTION = "which tasks can I join?"
FLOOD = ["hi", "what can you do?", "which tasks can I join?", "my reports", "bzzz", "spam spam spam", "help", "ok"]


def ask(fake: FakeTelegram, user: int) -> float:
    """A newcomer's question; seconds until the bot's first answer to it."""
    start = len(fake.calls)
    asked = time.monotonic()
    fake.push_message(user, QUESTION)
    reply = fake.wait_for(lambda c: c["method"] == "sendMessage" and c["chat_id"] == user and c["status"] == 200,
                          timeout=600, start=start)
    return float(reply["time"] - asked)


def flood(fake: FakeTelegram, first_chat: int, chats: int, messages: int, seconds: float) -> None:
    """`chats` × `messages` updates spread evenly over `seconds`, the chats interleaved."""
    total = chats * messages
    started = time.monotonic()
    for number in range(total):
        chat = first_chat + number % chats
        fake.push_message(chat, FLOOD[number % len(FLOOD)])
        delay = started + seconds * (number + 1) / total - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # the peak resident size
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run(label: str, root: Path, assistant: Assistant, workdir: Path, args: argparse.Namespace,
            quiet: bool, base_chat: int) -> dict[str, Any]:
    with FakeTelegram(rate_limits=True) as fake:
        bridge = BridgeProcess(workdir, {
            "TELEGRAM_TOKEN": "1:BENCH", "TELEGRAM_BASE_URL": f"{fake.url}/bot",
            "DATABASE_URL": assistant.env["DATABASE_URL"], "MEDIA_DIR": str(workdir / "media"),
            "RASA_URL": assistant.rasa_url,
        }, name=f"bridge-{base_chat}", root=root)
        bridge.start()
        try:
            fake.wait_for(lambda c: c["method"] == "getUpdates", timeout=60)
            ask(fake, base_chat - 1)  # warm up
            waits: list[float] = []
            if quiet:
                waits = [ask(fake, base_chat - 2 - n) for n in range(args.newcomers)]
                flooders_answered = 0
            else:
                pushing = threading.Thread(target=flood, args=(fake, base_chat, args.chats, args.messages, args.seconds))
                pushing.start()
                time.sleep(1.0)
                newcomer = base_chat - 2
                while pushing.is_alive():
                    waits.append(ask(fake, newcomer))
                    newcomer -= 1
                    time.sleep(max(0.0, 1.0 - waits[-1]))
                pushing.join()
                flooders = set(range(base_chat, base_chat + args.chats))
                time.sleep(5)  # what the bridge still sends once the flood stopped
                flooders_answered = sum(1 for c in fake.calls if c["method"] == "sendMessage" and c["chat_id"] in flooders)
            memory = rss_mb(bridge.process.pid) if bridge.process else float("nan")
            throttled = len(fake.throttled)
        finally:
            bridge.stop()
    return {
        "label": label, "newcomers": len(waits), "p50": statistics.median(waits), "p95": percentile(waits, 0.95),
        "max": max(waits), "answers_to_flooders": flooders_answered, "memory": memory, "throttled": throttled,
    }


def worktree(revision: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="coprod-against-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), revision],
                   check=True, capture_output=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=40)
    parser.add_argument("--messages", type=int, default=25, help="messages each flooding chat sends")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the flood lasts")
    parser.add_argument("--newcomers", type=int, default=10, help="newcomers asked one by one in the quiet run")
    parser.add_argument("--against", help="also flood the bridge of this commit (e.g. 210f057)")
    parser.add_argument("--model", default=str(ROOT / "models" / "coprod.tar.gz"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="coprod-flood-"))
    assistant = demo_assistant(workdir, Path(args.model), NEIGHBOURHOODS)
    assistant.start()
    rows = []
    other = worktree(args.against) if args.against else None
    try:
        rows.append(one_run("quiet (baseline)", ROOT, assistant, workdir, args, True, 100_000))
        rows.append(one_run("flood, this commit", ROOT, assistant, workdir, args, False, 200_000))
        if other is not None:
            rows.append(one_run(f"flood, bridge of {args.against}", other, assistant, workdir, args, False, 300_000))
    finally:
        assistant.stop()
        if other is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)
    print(f"{args.chats} chats flood {args.chats * args.messages} messages in {args.seconds:g} s; "
          "a newcomer asks which tasks they can join (Rasa, action server, database) about once a second")
    print("| run | newcomers | reply p50 s | reply p95 s | reply max s | answers to flooders | bridge peak RSS MB | 429s |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['label']} | {row['newcomers']} | {row['p50']:.2f} | {row['p95']:.2f} | {row['max']:.2f} "
              f"| {row['answers_to_flooders']} | {row['memory']:.0f} | {row['throttled']} |")
    quiet = rows[0]
    for row in rows[1:]:
        print(f"{row['label']}: newcomer p95 / quiet p95 = {row['p95'] / quiet['p95']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
