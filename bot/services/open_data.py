"""Exports of contributions: CSV and GeoJSON for staff, a public GeoJSON without personal
data (locations coarsened to about 100 m), and Open311 GeoReport v2 records."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any, Callable, ContextManager, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.i18n import category_label, status_label
from bot.models import CATEGORIES, Citizen, Contribution, Neighbourhood, Task
from bot.services.contributions import valid_coordinates
from bot.services.errors import InvalidInput
from bot.services.review import QueueFilter, _filtered, pseudonym
from bot.services.text import clean_text

PUBLIC_DECIMALS = 3  # about 100 m
CLOSED = ("resolved", "rejected", "duplicate")
EXPORT_LIMIT = 50_000
PAGE = 1000


def iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=timezone.utc).isoformat(timespec="seconds") if moment else None


def _coarse(value: float | None) -> float | None:
    return round(value, PUBLIC_DECIMALS) if value is not None else None


def _names(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    areas = dict(session.execute(select(Neighbourhood.id, Neighbourhood.name)).all())
    titles = dict(session.execute(select(Task.id, Task.title)).all())
    return areas, titles


def export_rows(
    sessions: Callable[[], ContextManager[Session]], wanted: QueueFilter, *, public: bool,
    secret: bytes = b"", contact: bool = False,
) -> Iterator[dict[str, Any]]:
    """Records page by page, each page in its own short session, so an export of
    EXPORT_LIMIT rows never sits in memory whole nor holds the database."""
    after, sent = 0, 0
    while sent < EXPORT_LIMIT:
        with sessions() as session:
            page = _page(session, wanted, after, min(PAGE, EXPORT_LIMIT - sent), public, secret, contact)
        if not page:
            return
        for _, record in page:
            yield record
        after, sent = page[-1][0], sent + len(page)


def _page(
    session: Session, wanted: QueueFilter, after: int, limit: int, public: bool, secret: bytes, contact: bool
) -> list[tuple[int, dict[str, Any]]]:
    """One flat record per contribution after id `after`: what the audience may see, nothing more."""
    query = (
        _filtered(wanted).where(Contribution.id > after).options(selectinload(Contribution.photos))
        .order_by(Contribution.id).limit(limit)
    )
    areas, titles = _names(session)
    found = []
    items = list(session.execute(query).scalars())
    citizen_ids = {item.citizen_id for item in items if item.citizen_id}
    senders = dict(session.execute(
        select(Citizen.id, Citizen.sender_id).where(Citizen.id.in_(citizen_ids))
    ).all()) if contact and citizen_ids else {}
    for item in items:
        record: dict[str, Any] = {
            "reference": item.reference,
            "status": item.status,
            "category": item.category,
            "neighbourhood": areas.get(item.neighbourhood_id or 0),
            "created_at": iso(item.created_at),
            "resolved_at": iso(item.resolved_at),
            "latitude": _coarse(item.latitude) if public else item.latitude,
            "longitude": _coarse(item.longitude) if public else item.longitude,
        }
        if not public:
            record.update(
                task=titles.get(item.task_id or 0),
                updated_at=iso(item.updated_at),
                description=item.description,
                location_text=item.location_text,
                photos=len(item.photos),
                public_note=item.public_note,
                citizen=pseudonym(item.citizen_id, secret),
            )
            if contact:
                record["telegram_id"] = senders.get(item.citizen_id or 0)
        found.append((item.id, record))
    return found


def csv_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV with a header, a chunk per 500 rows; cells that a spreadsheet would run as
    formulas are quoted with '. No rows, no header."""
    out = io.StringIO()
    writer: csv.DictWriter[str] | None = None
    for number, row in enumerate(rows, 1):
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row))
            writer.writeheader()
        writer.writerow({k: _safe_cell(v) for k, v in row.items()})
        if number % 500 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    if out.getvalue():
        yield out.getvalue()


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def geojson_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A GeoJSON FeatureCollection, one feature at a time."""
    yield '{"type": "FeatureCollection", "features": ['
    for number, row in enumerate(rows):
        properties = {k: v for k, v in row.items() if k not in ("latitude", "longitude")}
        geometry = None
        if row.get("latitude") is not None and row.get("longitude") is not None:
            geometry = {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]}
        feature = {"type": "Feature", "geometry": geometry, "properties": properties}
        yield ("," if number else "") + json.dumps(feature, ensure_ascii=False)
    yield "]}"


# Open311 GeoReport v2 ---------------------------------------------------------


def services() -> list[dict[str, Any]]:
    """Our categories are the Open311 services."""
    return [
        {
            "service_code": code,
            "service_name": category_label(code),
            "description": category_label(code),
            "metadata": False,
            "type": "realtime",
            "keywords": code.replace("_", " "),
            "group": "street",
        }
        for code in CATEGORIES
    ]


def service_definition(code: str) -> dict[str, Any]:
    if code not in CATEGORIES:
        raise InvalidInput(code)
    return {"service_code": code, "attributes": []}


def request_record(item: Contribution) -> dict[str, Any]:
    """A contribution as an Open311 request: open/closed, with the public note as status_notes."""
    return {
        "service_request_id": item.reference,
        "status": "closed" if item.status in CLOSED else "open",
        "status_notes": item.public_note or status_label(item.status),
        "service_name": category_label(item.category),
        "service_code": item.category,
        "requested_datetime": iso(item.created_at),
        "updated_datetime": iso(item.updated_at),
        "lat": _coarse(item.latitude),
        "long": _coarse(item.longitude),
    }


def find_requests(
    session: Session, service_code: str | None, status: str | None, start: datetime | None, end: datetime | None,
    page: int, page_size: int,
) -> list[dict[str, Any]]:
    query = select(Contribution)
    if service_code:
        query = query.where(Contribution.category.in_(service_code.split(",")))
    if status == "open":
        query = query.where(Contribution.status.not_in(CLOSED))
    elif status == "closed":
        query = query.where(Contribution.status.in_(CLOSED))
    if start:
        query = query.where(Contribution.created_at >= start)
    if end:
        query = query.where(Contribution.created_at <= end)
    query = query.order_by(Contribution.created_at.desc(), Contribution.id.desc())
    items = session.execute(query.offset((page - 1) * page_size).limit(page_size)).scalars()
    return [request_record(item) for item in items]


def create_request(
    session: Session, service_code: str, lat: float | None, long: float | None, address: str | None, description: str | None
) -> Contribution:
    """POST /requests from another channel: a contribution with no citizen behind it."""
    if service_code not in CATEGORIES:
        raise InvalidInput(service_code)
    where = valid_coordinates(lat, long) if lat is not None and long is not None else None
    if where is None and not address:
        raise InvalidInput("location")
    contribution = Contribution(
        category=service_code,
        description=clean_text(description),
        location_text=clean_text(address),
        latitude=where[0] if where else None,
        longitude=where[1] if where else None,
    )
    session.add(contribution)
    session.flush()
    return contribution
