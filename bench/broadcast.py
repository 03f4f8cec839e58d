"""Broadcast delivery benchmark: coprod's outbox against a plain PTB loop, under Telegram's limits.

Usage: python bench/broadcast.py [--recipients 3000] [--quick]

Telegram allows a bot about 30 messages per second overall (and 1 per second
per chat); going faster earns 429 answers, going slower makes a city-wide
broadcast take longer than it must. Three runs, each against its own fake Bot
API server (`tests/fake_telegram.py` with rate limits on: a token bucket of
30 refilled 30/s overall, 1/s per chat with a burst of 3, 429 with
`retry_after` when empty), so every run starts with full buckets:

- coprod: the real bridge (`python -m bot run`, shipped settings) on a fresh
  database; `broadcasts.start` writes one delivery per consented citizen and
  the bridge's `Broadcaster` sends them.
- coprod, kill -9 + resume: the same on another fresh database, but the
  bridge gets SIGKILL once half the recipients have their message; a new
  bridge is started at once on the same database and the run ends when no
  delivery is pending or sending. Rows that were `sending` at the kill become
  `unknown` and are never resent (at most once, by design).
- baseline: python-telegram-bot in this process, `AIORateLimiter()` with its
  defaults, one `asyncio.gather` of `send_message` to every recipient.

Figures come from the fake's call log (the server's clock): the elapsed
time runs from the first successful sendMessage to a recipient to the last
one, and the rate is delivered recipients / elapsed. Lost = recipients with
no message, duplicates = recipients with more than one. In the kill run the
downtime is the gap between the last send before the kill and the first
send after the restart; "rate without downtime" divides by the elapsed time
minus that gap, and "restart → first send" runs from spawning the second
bridge process (imports included) to its first send.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from telegram.ext import AIORateLimiter, ApplicationBuilder  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.models import Delivery  # noqa: E402
from bot.services import broadcasts, citizens  # noqa: E402
from bot.services.broadcasts import Audience  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.processes import BridgeProcess, free_port  # noqa: E402
from tests.test_e2e_telegram import TOKEN  # noqa: E402

LIMIT = 30.0
TARGET_SHARE = 0.95
FIRST_USER = 10_000_000
TEXT = "Benchmark broadcast: no tap water on Monday from 8:00 to 12:00."
QUICK_RECIPIENTS = 300
POLL_SECONDS = 0.02
STARTUP_TIMEOUT = 120.0
SLACK_SECONDS = 60.0
RUNS = ("coprod", "kill", "baseline")
HEADERS = {"coprod": "coprod", "kill": "coprod, kill -9 at 50 % + resume", "baseline": "PTB 22 + AIORateLimiter()"}


@dataclass
class Result:
    """What one run delivered, as the fake server saw it, plus what the run itself knows."""

    recipients: int
    sends: list[tuple[float, int]]
    throttled: int
    wall_s: float
    outcomes: Counter[str] | None = None
    errors: Counter[str] | None = None
    restart_to_send_s: float | None = None
    downtime_s: float | None = None
    unknown_received: int | None = None
    per_user: Counter[int] = field(init=False)

    def __post_init__(self) -> None:
        self.per_user = Counter(user for _, user in self.sends)

    @property
    def delivered(self) -> int:
        return len(self.per_user)

    @property
    def lost(self) -> int:
        return self.recipients - self.delivered

    @property
    def duplicates(self) -> int:
        return sum(1 for times in self.per_user.values() if times > 1)

    @property
    def elapsed_s(self) -> float:
        return self.sends[-1][0] - self.sends[0][0] if self.sends else 0.0

    def share(self, elapsed_s: float) -> float:
        """Achieved rate over `elapsed_s` as a share of Telegram's 30 per second."""
        return self.delivered / elapsed_s / LIMIT if elapsed_s > 0 else 0.0


# the fake server's log -------------------------------------------------------


def recipient_sends(fake: FakeTelegram, users: set[int], start: int = 0) -> list[tuple[float, int]]:
    """(server time, chat) of every successful sendMessage to a recipient, from call `start` on."""
    return sorted(
        (call["time"], call["chat_id"]) for call in fake.calls[start:]
        if call["method"] == "sendMessage" and call["status"] == 200 and call["chat_id"] in users
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str, bridge: BridgeProcess | None = None) -> None:
    """Poll `condition`; fail after `timeout` seconds, or at once if `bridge` died."""
    deadline = time.monotonic() + timeout
    while not condition():
        if bridge is not None and bridge.process is not None and bridge.process.poll() is not None:
            raise RuntimeError(f"{bridge.name} exited while waiting for {what}:\n{bridge.log()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def send_timeout(recipients: int) -> float:
    return recipients / LIMIT * 2 + SLACK_SECONDS


# coprod --------------------------------------------------------------------


def recipient_ids(count: int) -> list[int]:
    return list(range(FIRST_USER, FIRST_USER + count))


def town(workdir: Path, fake: FakeTelegram, users: list[int]) -> Database:
    """A fresh migrated database where every user is a fake Telegram user with a consented citizen row."""
    url = f"sqlite:///{workdir / 'coprod.db'}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        for user in users:
            fake.add_user(user)
            citizens.give_consent(session, str(user))
    (workdir / "media").mkdir(exist_ok=True)
    return db


def start_bridge(workdir: Path, fake: FakeTelegram, db: Database, name: str) -> BridgeProcess:
    """`python -m bot run` on `db` against `fake`; returns once it polls for updates."""
    env = {
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": f"{fake.url}/bot",
        "DATABASE_URL": db.url,
        "MEDIA_DIR": str(workdir / "media"),
        "COPROD_VAR_DIR": str(workdir),
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "QUIET_HOURS": "off",
    }
    bridge = BridgeProcess(workdir, env, name=name)
    start = len(fake.calls)
    bridge.start()
    wait_until(lambda: any(call["method"] == "getUpdates" for call in fake.calls[start:]),
               STARTUP_TIMEOUT, "getUpdates", bridge)
    return bridge


def start_broadcast(db: Database) -> int:
    with db.session() as session:
        return broadcasts.start(session, "bench", Audience("all"), TEXT).id


def finished(db: Database, broadcast_id: int) -> bool:
    with db.session() as session:
        return broadcasts.progress(session, broadcast_id).waiting == 0


def outcomes(db: Database, broadcast_id: int) -> Counter[str]:
    with db.session() as session:
        rows = session.execute(
            select(Delivery.status, func.count(Delivery.id))
            .where(Delivery.broadcast_id == broadcast_id).group_by(Delivery.status)
        ).all()
    return Counter(dict(rows))


def unknown_chats(db: Database, broadcast_id: int) -> set[int]:
    with db.session() as session:
        chats = session.execute(
            select(Delivery.chat_id).where(Delivery.broadcast_id == broadcast_id, Delivery.status == "unknown")
        ).scalars()
        return {int(chat) for chat in chats}


def wait_finished(db: Database, broadcast_id: int, bridge: BridgeProcess, recipients: int) -> None:
    deadline = time.monotonic() + send_timeout(recipients)
    while not finished(db, broadcast_id):
        if bridge.process is not None and bridge.process.poll() is not None:
            raise RuntimeError(f"{bridge.name} exited mid-broadcast:\n{bridge.log()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"broadcast {broadcast_id} not finished; see {bridge.workdir}")
        time.sleep(0.5)


def run_coprod(recipients: int) -> Result:
    started = time.monotonic()
    users = recipient_ids(recipients)
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp, FakeTelegram(rate_limits=True) as fake:
        workdir = Path(tmp)
        db = town(workdir, fake, users)
        bridge = start_bridge(workdir, fake, db, "bridge")
        try:
            broadcast_id = start_broadcast(db)
            wait_finished(db, broadcast_id, bridge, recipients)
        finally:
            bridge.stop()
        result = Result(recipients, recipient_sends(fake, set(users)), len(fake.throttled),
                         time.monotonic() - started, outcomes=outcomes(db, broadcast_id))
        db.dispose()
    return result


def run_kill(recipients: int) -> Result:
    started = time.monotonic()
    users = recipient_ids(recipients)
    wanted = set(users)
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-kill-") as tmp, FakeTelegram(rate_limits=True) as fake:
        workdir = Path(tmp)
        db = town(workdir, fake, users)
        first = start_bridge(workdir, fake, db, "first")
        try:
            broadcast_id = start_broadcast(db)
            wait_until(lambda: len(recipient_sends(fake, wanted)) >= recipients // 2,
                       send_timeout(recipients), "half of the sends", first)
        finally:
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait()
        before = recipient_sends(fake, wanted)
        restarted = time.monotonic()
        second = start_bridge(workdir, fake, db, "second")
        try:
            wait_finished(db, broadcast_id, second, recipients)
        finally:
            second.stop()
        sends = recipient_sends(fake, wanted)
        after = [send for send in sends if send[0] >= restarted]
        reached = {user for _, user in sends}
        result = Result(
            recipients, sends, len(fake.throttled), time.monotonic() - started,
            outcomes=outcomes(db, broadcast_id),
            restart_to_send_s=after[0][0] - restarted if after else None,
            downtime_s=after[0][0] - before[-1][0] if after and before else None,
            unknown_received=len(unknown_chats(db, broadcast_id) & reached),
        )
        db.dispose()
    return result


# baseline --------------------------------------------------------------------


async def ptb_gather(fake: FakeTelegram, users: list[int]) -> Counter[str]:
    """The obvious PTB way: one gather over every send, paced by AIORateLimiter's defaults."""
    application = ApplicationBuilder().token(TOKEN).base_url(f"{fake.url}/bot").rate_limiter(AIORateLimiter()).build()
    await application.initialize()
    try:
        answers = await asyncio.gather(
            *(application.bot.send_message(user, TEXT) for user in users), return_exceptions=True
        )
    finally:
        await application.shutdown()
    return Counter(type(answer).__name__ for answer in answers if isinstance(answer, BaseException))


def run_baseline(recipients: int) -> Result:
    started = time.monotonic()
    users = recipient_ids(recipients)
    with FakeTelegram(rate_limits=True) as fake:
        for user in users:
            fake.add_user(user)
        errors = asyncio.run(ptb_gather(fake, users))
        return Result(recipients, recipient_sends(fake, set(users)), len(fake.throttled),
                      time.monotonic() - started, errors=errors)


# report ----------------------------------------------------------------------


def number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def statuses(result: Result, names: tuple[str, ...]) -> str:
    if result.outcomes is None:
        return "—"
    return " / ".join(f"{result.outcomes.get(name, 0):,}" for name in names)


def other_statuses(result: Result) -> str:
    if result.outcomes is None:
        return "—"
    rest = {name: count for name, count in result.outcomes.items() if name not in ("sent", "unknown", "failed")}
    return ", ".join(f"{name} {count:,}" for name, count in sorted(rest.items())) or "0"


def errors(result: Result) -> str:
    if result.errors is None:
        return "—"
    return ", ".join(f"{name} {count:,}" for name, count in result.errors.most_common()) or "0"


def without_downtime(result: Result) -> str:
    if result.downtime_s is None:
        return "—"
    return number(result.share(result.elapsed_s - result.downtime_s), 3)


ROWS: list[tuple[str, str, Callable[[Result], str]]] = [
    ("recipients delivered", "all", lambda r: f"{r.delivered:,} of {r.recipients:,}"),
    ("first → last send (s)", "—", lambda r: number(r.elapsed_s, 1)),
    ("achieved rate (msg/s)", "—", lambda r: number(r.share(r.elapsed_s) * LIMIT, 2)),
    ("rate ÷ 30", f"≥ {TARGET_SHARE:g}", lambda r: number(r.share(r.elapsed_s), 3)),
    ("429 answers", "0", lambda r: number(r.throttled)),
    ("lost (0 messages)", "0", lambda r: number(r.lost)),
    ("duplicates (> 1 message)", "0", lambda r: number(r.duplicates)),
    ("DB sent / unknown / failed", "—", lambda r: statuses(r, ("sent", "unknown", "failed"))),
    ("DB other states", "0", other_statuses),
    ("errors raised", "0", errors),
    ("unknown rows whose message arrived", "—", lambda r: number(r.unknown_received)),
    ("restart → first send (s)", "—", lambda r: number(r.restart_to_send_s, 2)),
    ("downtime: last send → first send after restart (s)", "—", lambda r: number(r.downtime_s, 2)),
    ("rate ÷ 30 without downtime", f"≥ {TARGET_SHARE:g}", without_downtime),
    ("run wall time, setup included (s)", "—", lambda r: number(r.wall_s, 1)),
]


def table(results: dict[str, Result]) -> list[str]:
    lines = ["| metric | target | " + " | ".join(HEADERS[run] for run in RUNS) + " |",
             "|---|---|" + "---|" * len(RUNS)]
    lines += [f"| {label} | {target} | " + " | ".join(show(results[run]) for run in RUNS) + " |"
              for label, target, show in ROWS]
    return lines


def report(recipients: int, results: dict[str, Result], wall_s: float) -> None:
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()} ({platform.platform()}), "
          f"python-telegram-bot {version('python-telegram-bot')}, aiolimiter {version('aiolimiter')}")
    print(f"Parameters: {recipients:,} recipients, one text message each; fake Bot API with rate limits on "
          f"({LIMIT:g} msg/s overall, bucket of 30; 1 msg/s per chat, burst 3; 429 + retry_after), a fresh "
          f"server per run and a fresh SQLite database per coprod run; coprod BROADCAST_RATE "
          f"{load_settings({}).broadcast_rate:g}/s (shipped default); kill -9 once {recipients // 2:,} "
          f"recipients have their message, second bridge started right after.")
    print()
    for line in table(results):
        print(line)
    print()
    print(f"Total wall time {wall_s:.0f} s.")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_RECIPIENTS} recipients")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    logging.basicConfig(level=logging.WARNING)
    # AIORateLimiter logs every 429 it passes on with a traceback; the table counts them instead.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    recipients = QUICK_RECIPIENTS if args.quick else args.recipients
    runners: dict[str, Callable[[int], Result]] = {"coprod": run_coprod, "kill": run_kill, "baseline": run_baseline}
    started = time.monotonic()
    results = {}
    for run in RUNS:
        print(f"running {HEADERS[run]} …", file=sys.stderr, flush=True)
        results[run] = runners[run](recipients)
    report(recipients, results, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
