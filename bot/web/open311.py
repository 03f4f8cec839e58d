"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): JSON and XML.

Categories are the services; our workflow maps onto open/closed with the
public note as `status_notes`. Service names follow the `locale` parameter
(`ar`, `fr`, `en`, or a regional code such as `fr_DZ`; English otherwise).
Reading is public (no personal data, locations coarsened to about 100 m);
POST /requests needs an API key from OPEN311_API_KEYS. The API is described in OpenAPI 3.0
by open311.openapi.json beside this file, served at /open311/v2/openapi.json.
"""
from __future__ import annotations

import hmac
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from dateutil.parser import isoparse
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.config import Settings
from bot.db import Database
from bot.i18n import category_label
from bot.models import Contribution
from bot.services import open_data
from bot.services.errors import InvalidInput
from bot.services.workflow import parse_reference
from bot.web.language import base

MAX_PAGE_SIZE = 1000
MAX_BODY = 64 * 1024  # a service request is a few fields of text
DEFAULT_PAGE_SIZE = 50
DESCRIPTION = Path(__file__).with_name("open311.openapi.json")
ROOTS = {"services": ("services", "service"), "requests": ("service_requests", "request"),
         "definition": ("service_definition", None), "created": ("service_requests", "request"),
         "discovery": ("discovery", None)}


def _fmt(request: Request) -> str:
    fmt = request.path_params["format"]
    if fmt not in ("json", "xml"):
        raise HTTPException(404, "Use .json or .xml")
    return fmt


def _xml_value(parent: ElementTree.Element, key: str, value: Any) -> None:
    child = ElementTree.SubElement(parent, key)
    if isinstance(value, dict):
        for inner_key, inner in value.items():
            _xml_value(child, inner_key, inner)
    elif isinstance(value, list):
        singular = key[:-1] if key.endswith("s") else "item"
        for inner in value:
            _xml_value(child, singular, inner)
    elif value is not None:
        child.text = str(value).lower() if isinstance(value, bool) else str(value)


def render(fmt: str, kind: str, payload: Any, status_code: int = 200) -> Response:
    if fmt == "json":
        return JSONResponse(payload, status_code=status_code)
    root_name, item_name = ROOTS[kind]
    root = ElementTree.Element(root_name)
    if item_name is None:
        for key, value in payload.items():
            _xml_value(root, key, value)
    else:
        for item in payload:
            element = ElementTree.SubElement(root, item_name)
            for key, value in item.items():
                _xml_value(element, key, value)
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(root, encoding="utf-8")
    return Response(body, status_code=status_code, media_type="text/xml; charset=utf-8")


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = isoparse(value)  # any ISO 8601 / RFC 3339 form: "z", "t", any fraction of a second
    except (ValueError, OverflowError):
        raise HTTPException(400, f"Not a W3C date-time: {value[:40]}") from None
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:  # within a day of year 1 or 9999: in UTC it is before or after everything
        return datetime.min if moment.year == 1 else datetime.max


def _number(value: str | None, default: int, ceiling: int) -> int:
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise HTTPException(400, f"Not a number: {value[:20]}")
    return max(1, min(int(value), ceiling))


def _within(value: float | None, bound: float) -> bool:
    return value is None or (math.isfinite(value) and -bound <= value <= bound)


def _locale(request: Request) -> str:
    """The `locale` parameter's base language ("fr_DZ", "ar-DZ" → "fr", "ar"); English otherwise."""
    return base(request.query_params.get("locale")) or "en"


def _localised(response: Response, language: str) -> Response:
    response.headers["Content-Language"] = language
    return response


def _requests(fmt: str, found: list[dict[str, Any]], language: str) -> Response:
    """Requests with the service names in the asked language (codes and statuses stay as they are)."""
    named = [{**record, "service_name": category_label(record["service_code"], language)} for record in found]
    return _localised(render(fmt, "requests", named), language)


def routes(db: Database, settings: Settings) -> list[Route]:
    async def discovery(request: Request) -> Response:
        base = str(request.base_url).rstrip("/") + "/open311/v2/"
        payload = {
            "changeset": "2026-11-29T00:00:00Z",
            "contact": "Coprod staff dashboard",
            "key_service": "Ask the city for an API key to post requests",
            "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": base,
                           "changeset": "2026-11-29T00:00:00Z", "type": "production",
                           "formats": ["application/json", "text/xml"]}],
        }
        return render(_fmt(request), "discovery", payload)

    async def services(request: Request) -> Response:
        language = _locale(request)
        payload = [{**service, "service_name": category_label(service["service_code"], language),
                    "description": category_label(service["service_code"], language)}
                   for service in open_data.services()]
        return _localised(render(_fmt(request), "services", payload), language)

    async def definition(request: Request) -> Response:
        try:
            payload = open_data.service_definition(request.path_params["code"])
        except InvalidInput:
            raise HTTPException(404, "No such service") from None
        return render(_fmt(request), "definition", payload)

    async def list_requests(request: Request) -> Response:
        fmt = _fmt(request)
        params = request.query_params
        status = params.get("status")
        if status not in (None, "", "open", "closed"):
            raise HTTPException(400, "status is open or closed")
        # Every parameter is checked, also those that service_request_id makes moot.
        start, end = _when(params.get("start_date")), _when(params.get("end_date"))
        page = _number(params.get("page"), 1, 10**6)
        page_size = _number(params.get("page_size"), DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        with db.session() as session:
            if params.get("service_request_id"):
                keys = [parse_reference(part) for part in params["service_request_id"].split(",")[:MAX_PAGE_SIZE]]
                items = [session.get(Contribution, key) for key in keys if key]
                found = [open_data.request_record(item) for item in items if item is not None]
            else:
                found = open_data.find_requests(
                    session, params.get("service_code") or None, status or None, start, end, page, page_size)
        return _requests(fmt, found, _locale(request))

    async def one_request(request: Request) -> Response:
        fmt = _fmt(request)
        key = parse_reference(request.path_params["id"])
        with db.session() as session:
            item = session.get(Contribution, key) if key else None
            if item is None:
                raise HTTPException(404, "No such request")
            found = [open_data.request_record(item)]
        return _requests(fmt, found, _locale(request))

    async def create(request: Request) -> Response:
        fmt = _fmt(request)
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            raise HTTPException(411, "A Content-Length is required")
        if int(length) > MAX_BODY:
            raise HTTPException(413, "The request is too large")
        form = await request.form(max_files=0, max_fields=30)
        key = str(form.get("api_key", "")).encode()
        if not any(hmac.compare_digest(key, valid.encode()) for valid in settings.open311_api_keys):
            raise HTTPException(403, "A valid api_key is required to post requests")
        try:
            lat = float(form["lat"]) if form.get("lat") else None
            long = float(form["long"]) if form.get("long") else None
        except ValueError:
            raise HTTPException(400, "lat and long are numbers") from None
        if not (_within(lat, 90) and _within(long, 180)):  # never dropped silently for address_string
            raise HTTPException(400, "lat is from -90 to 90 and long from -180 to 180")
        try:
            with db.session() as session:
                item = open_data.create_request(
                    session, str(form.get("service_code", "")), lat, long,
                    str(form.get("address_string") or "") or None, str(form.get("description") or "") or None,
                )
                reference = item.reference
        except InvalidInput:
            raise HTTPException(400, "service_code and a location (lat/long or address_string) are required") from None
        payload = [{"service_request_id": reference, "service_notice": "Thank you: staff will review it."}]
        return render(fmt, "created", payload, status_code=201)

    async def requests(request: Request) -> Response:
        return await (create(request) if request.method == "POST" else list_requests(request))

    async def description(request: Request) -> Response:
        return Response(DESCRIPTION.read_bytes(), media_type="application/json")

    return [
        Route("/openapi.json", description),
        Route("/discovery.{format:str}", discovery),
        Route("/services.{format:str}", services),
        Route("/services/{code:str}.{format:str}", definition),
        Route("/requests.{format:str}", requests, methods=["GET", "POST"]),  # one route: a 405's Allow names both
        Route("/requests/{id:str}.{format:str}", one_request),
    ]
