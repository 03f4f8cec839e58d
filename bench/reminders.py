"""Reminder scheduling benchmark: notification rows polled by one job beside one APScheduler job per reminder.

Usage: python bench/reminders.py [--reminders 100000] [--citizens 10000]
                                 [--firing-seconds 40] [--rate 25] [--quick]

Two designs for sending scheduled reminders, each measured in its own child
process (so memory figures belong to one design):

- rows (shipped): every reminder is a `Notification` row; `bot.scheduler.Scheduler`
  polls the due rows once per tick (1 s, as in production), claims each one
  and hands it to the sender.
- naive: every reminder is an APScheduler 3.9 `date` job persisted in a
  `SQLAlchemyJobStore` on its own SQLite file (WAL, pooled), run by an
  `AsyncIOScheduler`; the job calls `naive_fire`, which only records the time.

Each child schedules all reminders, most of them days ahead (timed: the rows
design's citizens, task, occurrences and sign-ups are set up untimed first),
then moves a window of `rate × firing-seconds` of them to fall due at `rate`
per second from a few seconds ahead, closes everything and reopens it (the
restart: new database or job-store objects until the scheduler is started and
has looked for due work, imports excluded), and waits for the window to be
sent. Lag is the wall-clock time from an item's due time to the call of the
send function. Every window item must be sent exactly once; duplicates,
missing items and sends of items outside the window are counted.

Why: the rows design was chosen because the rows are the source of truth and
a restart loads nothing into memory (`bot/scheduler.py`); this shows what the
obvious alternative would cost at the expected load.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from sqlalchemy.engine import Engine

    from bot.db import Database
    from bot.channels import Delivery, Message

DESIGNS = ("rows", "naive")
LEAD_SECONDS = 5.0
SETTLE_SECONDS = 3.0
TIMEOUT_SLACK_SECONDS = 30.0
FAR_DAYS = 30
CHUNK = 1000
MISFIRE_GRACE_SECONDS = 3600
EXAMPLES = 10
QUICK = {"reminders": 5000, "citizens": 500, "firing_seconds": 10.0}
TARGETS = {"restart_s": 10.0, "lag_p99_ms": 2000.0, "rss_mb": 300.0}

Key = TypeVar("Key", int, str)

NAIVE_FIRED: dict[str, list[float]] = defaultdict(list)


async def naive_fire(citizen_id: int, key: str) -> None:
    """The naive design's job: note when reminder `key` went out."""
    NAIVE_FIRED[key].append(time.time())


@dataclass(frozen=True)
class Load:
    """Item i belongs to citizen i mod C (ids from 1) and to occurrence i div C + 1;
    items 0 .. window-1 form the firing window."""

    reminders: int
    citizens: int
    firing_seconds: float
    rate: float

    @property
    def window(self) -> int:
        return min(self.reminders, round(self.rate * self.firing_seconds))

    @property
    def occurrences(self) -> int:
        return math.ceil(self.reminders / self.citizens)

    def citizen(self, item: int) -> int:
        return item % self.citizens + 1

    def occurrence(self, item: int) -> int:
        return item // self.citizens + 1

    def key(self, item: int) -> str:
        return f"reminder:bench:{self.occurrence(item)}:{self.citizen(item)}"

    def far_due(self, item: int, now: datetime) -> datetime:
        """Spread evenly over the days ahead."""
        return now + timedelta(days=1, seconds=item * FAR_DAYS * 86400 / self.reminders)

    def window_due(self, item: int, anchor: datetime) -> datetime:
        return anchor + timedelta(seconds=item / self.rate)

    def starts_at(self, occurrence: int, now: datetime) -> datetime:
        """Occurrences start after every reminder, so none has expired."""
        return now + timedelta(days=FAR_DAYS + 2, hours=occurrence)


@dataclass(frozen=True)
class Figures:
    """One design's results, printed by the child as one JSON line."""

    schedule_s: float
    restart_s: float
    lead_after_ready_s: float
    rss_after_schedule_mb: float
    peak_rss_mb: float
    window: int
    sent_once: int
    duplicates: int
    missing: int
    unexpected: int
    lag_p50_ms: float
    lag_p99_ms: float
    lag_max_ms: float
    duplicate_examples: list[str]
    missing_examples: list[str]


@dataclass(frozen=True)
class Firing:
    """What the restart-and-fire phase saw."""

    restart_s: float
    ready_at: float
    sent: Mapping[Any, list[float]]


# measuring -----------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def epoch(naive_utc: datetime) -> float:
    return naive_utc.replace(tzinfo=timezone.utc).timestamp()


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def chunks(count: int) -> Iterator[range]:
    for start in range(0, count, CHUNK):
        yield range(start, min(count, start + CHUNK))


def deadline(due: Mapping[Key, float]) -> float:
    return max(due.values()) + TIMEOUT_SLACK_SECONDS


async def wait_for_sends(due: Mapping[Key, float], sent: Mapping[Key, list[float]], until: float) -> None:
    """Until every window item went out (or `until`), then a little longer to catch duplicates."""
    while time.time() < until and len(due.keys() & sent.keys()) < len(due):
        await asyncio.sleep(0.1)
    await asyncio.sleep(SETTLE_SECONDS)


def figures(schedule_s: float, rss_after_schedule: float, due: Mapping[Key, float], firing: Firing) -> Figures:
    sent = firing.sent
    lags = sorted((min(sent[key]) - due[key]) * 1000 for key in due if key in sent)
    duplicated = [key for key in due if len(sent.get(key, ())) > 1]
    missing = [key for key in due if key not in sent]
    return Figures(
        schedule_s=schedule_s,
        restart_s=firing.restart_s,
        lead_after_ready_s=min(due.values()) - firing.ready_at,
        rss_after_schedule_mb=rss_after_schedule,
        peak_rss_mb=peak_rss_mb(),
        window=len(due),
        sent_once=sum(1 for key in due if len(sent.get(key, ())) == 1),
        duplicates=sum(len(sent[key]) - 1 for key in duplicated),
        missing=len(missing),
        unexpected=sum(len(times) for key, times in sent.items() if key not in due),
        lag_p50_ms=percentile(lags, 0.50),
        lag_p99_ms=percentile(lags, 0.99),
        lag_max_ms=lags[-1] if lags else math.nan,
        duplicate_examples=[str(key) for key in duplicated[:EXAMPLES]],
        missing_examples=[str(key) for key in missing[:EXAMPLES]],
    )


# rows: the shipped design -----------------------------------------------------


class RecordingSender:
    """Stands in for Telegram (a channel): notes when the send of each notification was called."""

    name = "telegram"
    rate = None

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.sent: dict[int, list[float]] = defaultdict(list)

    async def send(self, address: str, message: Message) -> Delivery:
        called = time.time()
        self.sent[notice_id(message.buttons)].append(called)
        return self.delivery


def notice_id(buttons: list[tuple[str, str]]) -> int:
    """Every button's Rasa payload names its notification: `/affirm{"notice":"12"}`."""
    payload = buttons[0][1]
    return int(json.loads(payload[payload.index("{"):])["notice"])


def rows_fixtures(db: Database, load: Load, now: datetime) -> None:
    """What reminders need in the shipped design: consented citizens, a task, its
    occurrences and one active sign-up per reminder (claiming checks them)."""
    from sqlalchemy import insert

    from bot.models import Citizen, Occurrence, Signup, Task

    with db.session() as session:
        session.add(Task(
            id=1, title="Riverbank clean-up", kind="group", category="waste", place="Footbridge",
            capacity=load.citizens, created_at=now,
        ))
        for occurrence in range(1, load.occurrences + 1):
            starts = load.starts_at(occurrence, now)
            session.add(Occurrence(id=occurrence, task_id=1, starts_at=starts, ends_at=starts + timedelta(hours=2)))
    for part in chunks(load.citizens):
        with db.session() as session:
            session.execute(insert(Citizen), [
                {"id": i + 1, "sender_id": str(10**6 + i + 1), "channel": "telegram", "address": str(10**6 + i + 1),
                 "language": "en", "consented_at": now, "created_at": now}
                for i in part
            ])
    for part in chunks(load.reminders):
        with db.session() as session:
            session.execute(insert(Signup), [
                {"task_id": 1, "occurrence_id": load.occurrence(i), "occurrence_key": load.occurrence(i),
                 "citizen_id": load.citizen(i), "status": "active", "created_at": now}
                for i in part
            ])


def rows_schedule(db: Database, load: Load, now: datetime) -> None:
    """All reminders as pending rows, one unit of work per chunk."""
    from bot.services import notifications

    for part in chunks(load.reminders):
        with db.session() as session:
            notifications._insert_or_revive(session, [
                {"key": load.key(i), "kind": "reminder", "citizen_id": load.citizen(i), "task_id": 1,
                 "occurrence_id": load.occurrence(i), "due_at": load.far_due(i, now),
                 "expires_at": load.starts_at(load.occurrence(i), now)}
                for i in range(part.start, part.stop)
            ])


def rows_retime(db: Database, load: Load, anchor: datetime) -> dict[int, float]:
    """Move the window's rows to fall due from `anchor`; returns id → due (epoch seconds)."""
    from sqlalchemy import bindparam, select, update

    from bot.models import Notification

    table = Notification.__table__
    due = {load.key(i): load.window_due(i, anchor) for i in range(load.window)}
    with db.session() as session:
        session.execute(
            update(table).where(table.c.key == bindparam("item_key")).values(due_at=bindparam("item_due")),
            [{"item_key": key, "item_due": moment} for key, moment in due.items()],
        )
        ids = session.execute(select(table.c.key, table.c.id).where(table.c.key.in_(list(due)))).all()
    return {notice: epoch(due[key]) for key, notice in ids}


async def rows_restart_and_fire(url: str, load: Load, due: Mapping[int, float]) -> Firing:
    """Reopen the database, start the production scheduler (default tick), wait for the window."""
    from bot.db import Database
    from bot.channels import Channels, Delivery
    from bot.scheduler import BATCH, Scheduler
    from bot.services import notifications
    from bot.services.notifications import Rules
    from bot.services.timing import QuietHours

    sender = RecordingSender(Delivery("sent", 1))
    started = time.perf_counter()
    db = Database(url)
    scheduler = Scheduler(db, Channels(sender), Rules(QuietHours.parse("off", "UTC")), "UTC")
    scheduler.start()
    with db.session() as session:
        notifications.due_ids(session, utcnow(), BATCH)
    restart_s = time.perf_counter() - started
    ready_at = time.time()
    await wait_for_sends(due, sender.sent, deadline(due))
    await scheduler.stop()
    db.dispose()
    return Firing(restart_s, ready_at, sender.sent)


def run_rows(load: Load, workdir: Path) -> Figures:
    from bot.db import Database
    from bot.migrate import upgrade

    url = f"sqlite:///{workdir / 'rows.db'}"
    upgrade(url)
    db = Database(url)
    now = utcnow()
    rows_fixtures(db, load, now)
    started = time.perf_counter()
    rows_schedule(db, load, now)
    schedule_s = time.perf_counter() - started
    rss_after_schedule = current_rss_mb()
    due = rows_retime(db, load, utcnow() + timedelta(seconds=LEAD_SECONDS))
    db.dispose()
    firing = asyncio.run(rows_restart_and_fire(url, load, due))
    return figures(schedule_s, rss_after_schedule, due, firing)


# naive: one APScheduler job per reminder ------------------------------------------


def _wal(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


def naive_engine(url: str) -> Engine:
    """The job store's engine, tuned for adding jobs fast: WAL like the shipped
    database, and a kept-open connection (SQLAlchemy 1.4 gives SQLite files a
    NullPool, which reconnects per job). Plain `SQLAlchemyJobStore(url=...)`
    costs about twice as much per job on this disk."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import QueuePool

    engine = create_engine(url, poolclass=QueuePool)
    event.listen(engine, "connect", _wal)
    return engine


def naive_scheduler(url: str) -> AsyncIOScheduler:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    return AsyncIOScheduler(jobstores={"default": SQLAlchemyJobStore(engine=naive_engine(url))}, timezone=timezone.utc)


def naive_add(scheduler: AsyncIOScheduler, load: Load, now: datetime) -> None:
    """One persisted job per reminder (the scheduler is paused, so nothing wakes it meanwhile)."""
    for i in range(load.reminders):
        key = load.key(i)
        scheduler.add_job(
            naive_fire, trigger="date", run_date=load.far_due(i, now).replace(tzinfo=timezone.utc),
            args=(load.citizen(i), key), id=key, misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )


def naive_retime(scheduler: AsyncIOScheduler, load: Load, anchor: datetime) -> dict[str, float]:
    """Move the window's jobs to fall due from `anchor`; returns key → due (epoch seconds)."""
    due = {}
    for i in range(load.window):
        moment = load.window_due(i, anchor)
        scheduler.reschedule_job(load.key(i), trigger="date", run_date=moment.replace(tzinfo=timezone.utc))
        due[load.key(i)] = epoch(moment)
    return due


async def naive_schedule(url: str, load: Load) -> tuple[float, float, dict[str, float]]:
    """Schedule every reminder, then move the window; returns (seconds, RSS after, due)."""
    scheduler = naive_scheduler(url)
    scheduler.start(paused=True)
    started = time.perf_counter()
    naive_add(scheduler, load, utcnow())
    schedule_s = time.perf_counter() - started
    rss_after_schedule = current_rss_mb()
    due = naive_retime(scheduler, load, utcnow() + timedelta(seconds=LEAD_SECONDS))
    scheduler.shutdown()
    await asyncio.sleep(0)
    return schedule_s, rss_after_schedule, due


async def naive_restart_and_fire(url: str, load: Load, due: Mapping[str, float]) -> Firing:
    """A new scheduler on the same job store; ready once its first look for due jobs ran."""
    started = time.perf_counter()
    scheduler = naive_scheduler(url)
    scheduler.start()
    await asyncio.sleep(0)
    restart_s = time.perf_counter() - started
    ready_at = time.time()
    await wait_for_sends(due, NAIVE_FIRED, deadline(due))
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0)
    return Firing(restart_s, ready_at, NAIVE_FIRED)


def run_naive(load: Load, workdir: Path) -> Figures:
    url = f"sqlite:///{workdir / 'jobs.db'}"
    schedule_s, rss_after_schedule, due = asyncio.run(naive_schedule(url, load))
    firing = asyncio.run(naive_restart_and_fire(url, load, due))
    return figures(schedule_s, rss_after_schedule, due, firing)


# parent: one child per design, one table ----------------------------------------


def run_child(design: str, load: Load) -> dict[str, Any]:
    """Run one design in a fresh interpreter; its last stdout line is the JSON result."""
    command = [
        sys.executable, str(Path(__file__).resolve()), "--child", design,
        "--reminders", str(load.reminders), "--citizens", str(load.citizens),
        "--firing-seconds", str(load.firing_seconds), "--rate", str(load.rate),
    ]
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    found["wall_s"] = time.perf_counter() - started
    return found


def cell(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def table(load: Load, results: dict[str, dict[str, Any]]) -> list[str]:
    rows, naive = results["rows"], results["naive"]
    metrics: list[tuple[str, str, int, str]] = [
        (f"schedule {load.reminders:,} reminders (s)", "schedule_s", 2, "—"),
        ("restart → ready, all pending (s)", "restart_s", 3, f"≤ {TARGETS['restart_s']:g}"),
        ("first window item due after ready (s)", "lead_after_ready_s", 2, "—"),
        ("firing lag p50 (ms)", "lag_p50_ms", 0, "—"),
        ("firing lag p99 (ms)", "lag_p99_ms", 0, f"≤ {TARGETS['lag_p99_ms']:g}"),
        ("firing lag max (ms)", "lag_max_ms", 0, "—"),
        ("window items sent exactly once", "sent_once", 0, f"{load.window:,}"),
        ("duplicate sends", "duplicates", 0, "0"),
        ("missing window items", "missing", 0, "0"),
        ("sends outside the window", "unexpected", 0, "0"),
        ("RSS after scheduling (MB)", "rss_after_schedule_mb", 0, f"≤ {TARGETS['rss_mb']:g}"),
        ("peak RSS (MB)", "peak_rss_mb", 0, f"≤ {TARGETS['rss_mb']:g}"),
        ("child process wall time (s)", "wall_s", 1, "—"),
    ]
    lines = [
        "| metric | rows (shipped: rows + 1 polling job) | naive (1 APScheduler job per reminder) | target |",
        "|---|---|---|---|",
    ]
    lines += [f"| {label} | {cell(rows[name], digits)} | {cell(naive[name], digits)} | {target} |"
              for label, name, digits, target in metrics]
    return lines


def problems(results: dict[str, dict[str, Any]]) -> list[str]:
    return [
        f"{design}: {kind} {', '.join(found[f'{kind}_examples'])}"
        for design, found in results.items()
        for kind in ("duplicate", "missing")
        if found[f"{kind}_examples"]
    ]


def report(load: Load, results: dict[str, dict[str, Any]], wall_s: float) -> None:
    print(
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()} ({platform.platform()}), "
        f"APScheduler {version('APScheduler')}, SQLAlchemy {version('SQLAlchemy')}"
    )
    print(
        f"Load: {load.reminders:,} pending reminders for {load.citizens:,} citizens; window of {load.window:,} "
        f"due at {load.rate:g}/s over {load.firing_seconds:g} s, first one {LEAD_SECONDS:g} s after the window "
        f"was set; rows tick 1 s (production default). Restart: same child, everything closed then reopened."
    )
    print()
    for line in table(load, results):
        print(line)
    for line in problems(results):
        print(line)
    print()
    print(f"Total wall time {wall_s:.0f} s.")


# entry points ------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--citizens", type=int, default=10_000)
    parser.add_argument("--firing-seconds", type=float, default=40.0)
    parser.add_argument("--rate", type=float, default=25.0, help="window items falling due per second")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 reminders, 500 citizens, 10 s window")
    parser.add_argument("--child", choices=DESIGNS, help=argparse.SUPPRESS)
    return parser.parse_args()


def load_from(args: argparse.Namespace) -> Load:
    values = {"reminders": args.reminders, "citizens": args.citizens,
              "firing_seconds": args.firing_seconds, "rate": args.rate}
    if args.quick:
        values.update(QUICK)
    return Load(**values)


def child(design: str, load: Load) -> None:
    logging.basicConfig(level=logging.WARNING)
    run = run_rows if design == "rows" else run_naive
    with tempfile.TemporaryDirectory(prefix=f"bench-reminders-{design}-") as workdir:
        os.environ["COPROD_VAR_DIR"] = workdir
        result = run(load, Path(workdir))
    print(json.dumps(asdict(result)))


def main() -> int:
    args = arguments()
    load = load_from(args)
    if args.child:
        child(args.child, load)
        return 0
    started = time.perf_counter()
    results = {design: run_child(design, load) for design in DESIGNS}
    report(load, results, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    # APScheduler stores each job's function by reference ("bench.reminders:naive_fire"):
    # run under that module name so the jobs and the sends they record live in one module.
    from bench import reminders

    sys.exit(reminders.main())
