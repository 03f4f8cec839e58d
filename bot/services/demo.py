"""A small demo city so a newcomer sees something at once."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Neighbourhood, Task, utcnow
from bot.services.tasks import create_task

DEMO_POPULATIONS = {
    "Old Town": 8200,
    "Riverside": 12400,
    "Hillcrest": 6900,
    "Station Quarter": 10100,
    "Market District": 7600,
    "Belle-Vue": 5300,
}


def ensure_neighbourhoods(session: Session, names: list[str]) -> dict[str, Neighbourhood]:
    existing = {n.name: n for n in session.execute(select(Neighbourhood)).scalars()}
    for name in names:
        if name not in existing:
            existing[name] = Neighbourhood(name=name, population=DEMO_POPULATIONS.get(name))
            session.add(existing[name])
    session.flush()
    return existing


def _next_weekday(now: datetime, weekday: int, hour: int) -> datetime:
    days = (weekday - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def seed_demo(session: Session, neighbourhood_names: list[str], now: datetime | None = None) -> bool:
    """Load the demo tasks into an empty database; returns False if tasks already exist."""
    now = now or utcnow()
    areas = ensure_neighbourhoods(session, neighbourhood_names)
    if session.execute(select(func.count(Task.id))).scalar_one():
        return False

    def area(name: str) -> int | None:
        return areas[name].id if name in areas else None

    friday = _next_weekday(now, 4, 20)
    saturday = _next_weekday(now, 5, 9)
    create_task(
        session,
        title="Night safety patrol",
        kind="group",
        category="safety",
        description="Walk the riverside paths in pairs and note anything unsafe.",
        place="Meet at the Riverside footbridge",
        neighbourhood_id=area("Riverside"),
        starts_at=friday,
        ends_at=friday + timedelta(hours=2),
        capacity=6,
    )
    create_task(
        session,
        title="Saturday clean-up in Hillcrest Park",
        kind="group",
        category="green_spaces",
        description="Pick litter and clear paths. Gloves and bags provided.",
        place="Hillcrest Park, main gate",
        neighbourhood_id=area("Hillcrest"),
        starts_at=saturday,
        ends_at=saturday + timedelta(hours=3),
        capacity=15,
    )
    tuesday = _next_weekday(now, 1, 18)
    create_task(
        session,
        title="Evening street watch in Old Town",
        kind="group",
        category="safety",
        description="A friendly walk round the old streets, twice a week. Note broken lights and damage.",
        place="Old Town fountain",
        neighbourhood_id=area("Old Town"),
        starts_at=tuesday,
        ends_at=tuesday + timedelta(hours=1, minutes=30),
        capacity=8,
        recurrence="FREQ=WEEKLY;BYDAY=TU,TH",
    )
    create_task(
        session,
        title="Report illegal dumping",
        kind="collective",
        category="waste",
        description="Seen rubbish dumped in the street? Send a photo and the place.",
        place="Anywhere in town",
    )
    create_task(
        session,
        title="Map broken street lights",
        kind="collective",
        category="lighting",
        description="Tell us which street lights are out so crews can fix them faster.",
        place="Anywhere in town",
    )
    return True
