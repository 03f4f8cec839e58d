"""Figures that show what co-production achieves, and where it does not reach yet."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from bot.models import Citizen, Contribution, Feedback, Neighbourhood, Signup, utcnow

WEEKS = 12


@dataclass(frozen=True)
class Bar:
    """One bar of a chart; the figures behind it (resolved, people, population) are worded by the page."""

    label: str
    value: float
    resolved: int | None = None
    people: int | None = None
    population: int | None = None
    week: date | None = field(default=None, compare=False)


def _week_start(moment: datetime) -> datetime:
    day = moment - timedelta(days=moment.weekday())
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def weekly_participants(session: Session, now: datetime | None = None, weeks: int = WEEKS) -> list[Bar]:
    """Distinct citizens who signed up or sent something, per week (oldest first)."""
    now = now or utcnow()
    first = _week_start(now) - timedelta(weeks=weeks - 1)
    actions = union(
        select(Signup.citizen_id.label("who"), Signup.created_at.label("at")).where(Signup.created_at >= first),
        select(Contribution.citizen_id.label("who"), Contribution.created_at.label("at")).where(Contribution.created_at >= first),
    ).subquery()
    rows = session.execute(select(actions.c.who, actions.c.at).where(actions.c.who.isnot(None))).all()
    weeks_seen: dict[datetime, set[int]] = {first + timedelta(weeks=i): set() for i in range(weeks)}
    for who, at in rows:
        weeks_seen.setdefault(_week_start(at), set()).add(who)
    return [Bar(start.strftime("%d %b"), len(people), week=start.date()) for start, people in sorted(weeks_seen.items())]


def citizens_by_channel(session: Session) -> list[Bar]:
    """Who can be written to where: consented citizens per channel (telegram, web, terminal)."""
    rows = session.execute(
        select(Citizen.channel, func.count(Citizen.id)).where(Citizen.consented_at.isnot(None)).group_by(Citizen.channel)
    ).all()
    return sorted((Bar(channel, count) for channel, count in rows), key=lambda bar: -bar.value)


def contributions_by(session: Session, column: str) -> list[Bar]:
    if column == "category":
        rows = session.execute(select(Contribution.category, func.count(Contribution.id)).group_by(Contribution.category)).all()
        return sorted((Bar(label, count) for label, count in rows), key=lambda bar: -bar.value)
    rows = session.execute(
        select(Neighbourhood.name, func.count(Contribution.id))
        .join(Contribution, Contribution.neighbourhood_id == Neighbourhood.id)
        .group_by(Neighbourhood.name)
    ).all()
    return sorted((Bar(label, count) for label, count in rows), key=lambda bar: -bar.value)


def days_to_resolve(session: Session) -> list[Bar]:
    """Median days from report to resolution, per category."""
    rows = session.execute(
        select(Contribution.category, Contribution.created_at, Contribution.resolved_at).where(
            Contribution.resolved_at.isnot(None)
        )
    ).all()
    spans: dict[str, list[float]] = {}
    for category, created, resolved in rows:
        spans.setdefault(category, []).append((resolved - created).total_seconds() / 86400)
    return sorted(
        (Bar(category, round(statistics.median(days), 1), resolved=len(days)) for category, days in spans.items()),
        key=lambda bar: -bar.value,
    )


def ratings(session: Session) -> tuple[list[Bar], float | None]:
    rows = dict(session.execute(
        select(Feedback.rating, func.count(Feedback.id)).where(Feedback.rating.isnot(None)).group_by(Feedback.rating)
    ).all())
    total = sum(rows.values())
    average = round(sum(r * n for r, n in rows.items()) / total, 2) if total else None
    return [Bar("★" * stars, rows.get(stars, 0)) for stars in range(5, 0, -1)], average


def inclusion(session: Session, populations: dict[str, int]) -> list[Bar]:
    """Participants per 1,000 residents in each neighbourhood, lowest first: where
    co-production is not reaching. Populations come from settings or the table."""
    active = union(
        select(Signup.citizen_id.label("who")).where(Signup.citizen_id.isnot(None)),
        select(Contribution.citizen_id.label("who")).where(Contribution.citizen_id.isnot(None)),
    ).subquery()
    counts = dict(session.execute(
        select(Citizen.neighbourhood_id, func.count(func.distinct(Citizen.id)))
        .where(Citizen.id.in_(select(active.c.who)))
        .group_by(Citizen.neighbourhood_id)
    ).all())
    bars = []
    for area in session.execute(select(Neighbourhood).order_by(Neighbourhood.name)).scalars():
        population = populations.get(area.name) or area.population
        people = counts.get(area.id, 0)
        value = round(people * 1000 / population, 2) if population else 0
        bars.append(Bar(area.name, value, people=people, population=population or None))
    return sorted(bars, key=lambda bar: bar.value)
