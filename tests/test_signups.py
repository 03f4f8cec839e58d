"""Sign-ups against a real SQLite file: capacity, races, doubles, bad ids."""
from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.models import Signup
from bot.services import occurrences, signups, tasks
from bot.services.errors import (
    AlreadySignedUp,
    ConsentRequired,
    NotSignedUp,
    TaskClosed,
    TaskFull,
    TaskNotFound,
)
from tests.conftest import RULES, spots_taken, make_citizen, make_collective_task, make_group_task


def test_capacity_race_gives_the_last_spots_to_exactly_capacity_people(db: Database) -> None:
    task_id = make_group_task(db, capacity=3)
    people = [f"racer-{i}" for i in range(12)]
    for person in people:
        make_citizen(db, person)
    barrier = threading.Barrier(len(people))
    outcomes: dict[str, str] = {}

    threads = [threading.Thread(target=_race, args=(db.url, p, task_id, barrier, outcomes)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()).count("in") == 3
    assert sorted(outcomes.values()).count("full") == 9
    with db.session() as session:
        active = session.query(Signup).filter_by(task_id=task_id, status="active").count()
        assert spots_taken(session, task_id) == active == 3


def _race(url: str, person: str, task_id: int, barrier: Any, outcomes: Any) -> None:
    """One racer, in a thread or a process, on its own connection."""
    racer_db = Database(url)
    barrier.wait()
    try:
        with racer_db.session() as session:
            signups.sign_up(session, person, task_id, RULES)
        outcomes[person] = "in"
    except TaskFull:
        outcomes[person] = "full"
    finally:
        racer_db.dispose()


def test_the_last_spots_go_to_exactly_capacity_people_when_os_processes_race(db: Database) -> None:
    """As several bridges or action servers would: separate processes, separate connections
    (run on SQLite and, in `make test-postgres`, on PostgreSQL)."""
    task_id = make_group_task(db, capacity=2)
    people = [f"process-racer-{i}" for i in range(6)]
    for person in people:
        make_citizen(db, person)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier, outcomes = manager.Barrier(len(people)), manager.dict()
        racers = [context.Process(target=_race, args=(db.url, p, task_id, barrier, outcomes)) for p in people]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=120)
        results = dict(outcomes)
    assert sorted(results.values()) == ["full"] * 4 + ["in"] * 2
    with db.session() as session:
        active = session.query(Signup).filter_by(task_id=task_id, status="active").count()
        assert spots_taken(session, task_id) == active == 2


def test_database_refuses_overbooking_even_without_the_service(db: Database) -> None:
    task_id = make_group_task(db, capacity=1)
    with pytest.raises(IntegrityError):
        with db.session() as session:
            occurrences.next_occurrence(session, task_id).taken = 2


def test_double_sign_up_is_refused_and_counts_once(db: Database) -> None:
    task_id = make_group_task(db, capacity=5)
    make_citizen(db, "ana")
    with db.session() as session:
        signups.sign_up(session, "ana", task_id, RULES)
    with pytest.raises(AlreadySignedUp):
        with db.session() as session:
            signups.sign_up(session, "ana", task_id, RULES)
    with db.session() as session:
        assert spots_taken(session, task_id) == 1


def test_cancel_frees_the_spot_and_allows_joining_again(db: Database) -> None:
    task_id = make_group_task(db, capacity=1)
    make_citizen(db, "ana")
    make_citizen(db, "ben")
    with db.session() as session:
        signups.sign_up(session, "ana", task_id, RULES)
    with pytest.raises(TaskFull):
        with db.session() as session:
            signups.sign_up(session, "ben", task_id, RULES)
    with db.session() as session:
        signups.cancel_signup(session, "ana", task_id)
        assert spots_taken(session, task_id) == 0
    with db.session() as session:
        signups.sign_up(session, "ben", task_id, RULES)
        signups_of_ben = signups.active_signups(session, "ben")
        assert [s.task_id for s in signups_of_ben] == [task_id]
    with pytest.raises(NotSignedUp):
        with db.session() as session:
            signups.cancel_signup(session, "ana", task_id)
    with db.session() as session:
        signups.sign_up(session, "ana", make_collective_task(db), RULES)


@pytest.mark.parametrize("forged", ["9999", "abc", "-1", "0", "1 OR 1=1", "99999999999999999999", None])
def test_unknown_or_forged_task_ids_are_refused(db: Database, forged: object) -> None:
    make_citizen(db, "ana")
    with pytest.raises(TaskNotFound):
        with db.session() as session:
            signups.sign_up(session, "ana", forged, RULES)


def test_closed_task_is_refused(db: Database) -> None:
    task_id = make_group_task(db)
    make_citizen(db, "ana")
    with db.session() as session:
        tasks.close_task(session, task_id)
    with pytest.raises(TaskClosed):
        with db.session() as session:
            signups.sign_up(session, "ana", task_id, RULES)


def test_no_sign_up_without_consent(db: Database) -> None:
    task_id = make_group_task(db)
    make_citizen(db, "stranger", consent=False)
    with pytest.raises(ConsentRequired):
        with db.session() as session:
            signups.sign_up(session, "stranger", task_id, RULES)


def test_tasks_in_the_citizens_area_and_category_come_first(db: Database) -> None:
    make_group_task(db, title="Night safety patrol")
    collective = make_collective_task(db)
    with db.session() as session:
        first = tasks.list_open_tasks(session, tasks.TaskFilter(category="waste"))[0]
        assert first.id == collective
        matches = tasks.match_tasks(session, "count me in for the patrol on friday")
        assert [t.title for t in matches] == ["Night safety patrol"]
        assert tasks.match_tasks(session, "hello there") == []
        assert tasks.match_tasks(session, "count me in") == [], "no content word names no task"
        assert [t.title for t in tasks.match_tasks(session, "sign me up for the nite patrol")] == ["Night safety patrol"]
