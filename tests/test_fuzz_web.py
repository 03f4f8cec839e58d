"""Fuzzing the web routes: every bad request gets a 4xx, never a 500 (nor a hang).

- Open311 against its own OpenAPI description (bot/web/open311.openapi.json), with
  schemathesis in-process over ASGI: no server error, status codes, content types and
  bodies as documented, valid data accepted and invalid data refused.
- The dashboard's and the web chat's forms, query parameters and ids with odd input from
  Hypothesis (other scripts' digits, control and format characters, huge strings, empty
  fields, repeated fields, files where text is expected, bytes that are not UTF-8),
  logged out and logged in, with and without the CSRF token: never a 5xx, never a
  redirect off the site, and nothing changes when a request is refused.

Derandomized and without Hypothesis's database, so every run tries the same inputs.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.config import load_settings
from bot.db import Database
from bot.models import (
    CATEGORIES, CONTRIBUTION_STATUSES, AuditEntry, Broadcast, Contribution, ContributionNote, StaffAccount, Task,
)
from bot.services import staff
from bot.web.app import create_app
from bot.web.open311 import DESCRIPTION
from bot.webchat.app import csrf_for
from tests.conftest import make_collective_task
from tests.test_web import PASSWORD, reports  # noqa: F401  (the `reports` fixture)

API_KEY = "fuzz-key-1"
FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck),
                print_blob=False)
JPEG, PNG = b"\xff\xd8\xff\xe0" + b"\0" * 12, b"\x89PNG\r\n\x1a\n" + b"\0" * 8


def _env(db: Database, media_dir: Path, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": db.url, "MEDIA_DIR": str(media_dir), "COPROD_VAR_DIR": str(tmp_path),
            "DASHBOARD_SECRET": "fuzz-secret", "OPEN311_API_KEYS": API_KEY, "QUIET_HOURS": "off",
            "RASA_URL": "http://127.0.0.1:9"}  # nothing listens: the chat's answers fail fast, in the background


# Open311 against its description ------------------------------------------------


def test_the_description_is_served_and_knows_our_categories(web: TestClient) -> None:
    response = web.get("/open311/v2/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    served = response.json()
    assert served == json.loads(DESCRIPTION.read_text()) and served["openapi"].startswith("3.0")
    assert served["components"]["schemas"]["NewRequest"]["properties"]["service_code"]["enum"] == list(CATEGORIES)
    assert served["components"]["schemas"]["Service"]["properties"]["service_code"]["enum"] == list(CATEGORIES)


@pytest.fixture
def open311_schema(db: Database, media_dir: Path, tmp_path: Path, reports: dict[str, int]) -> Iterator[Any]:  # noqa: F811
    app = create_app(load_settings(_env(db, media_dir, tmp_path)), db)
    try:
        yield schemathesis.openapi.from_asgi("/open311/v2/openapi.json", app)
    finally:
        shutdown_lifespans()  # the lifespan schemathesis started for this app (the chat's hub)


open311 = schemathesis.pytest.from_fixture("open311_schema")


def _contributions(db: Database) -> int:
    with db.session() as session:
        return count(session, Contribution)


@open311.parametrize()
@settings(FUZZ, max_examples=40)
def test_open311_answers_as_its_description_says(case: Any, db: Database) -> None:
    body = case.body if isinstance(case.body, dict) else None
    if body is not None and isinstance(body.get("api_key"), str) and len(body["api_key"]) % 2 == 0:
        body["api_key"] = API_KEY  # half the posts carry the real key, so creation is fuzzed too
    before = _contributions(db)
    response = case.call_and_validate()
    assert response.status_code < 500
    created = 1 if case.method.upper() == "POST" and response.status_code == 201 else 0
    assert _contributions(db) == before + created, "a refused or read-only request changed the contributions"


# The dashboard and the web chat -------------------------------------------------

# Values that have broken parsers somewhere: other scripts' digits ("²".isdigit() is True and
# int("²") fails), numbers past 64 bits, references, dates at the ends of the calendar, markup.
NASTY = [
    "", " ", "\x00", "\t\r\n", "0", "-1", "00", "+1", "1.5", "1e400", "nan", "inf", "-inf", "²", "٣", "١٢٣", "߁߂",
    "𝟙𝟚", "Ⅻ", "9" * 9, "9" * 10, "9" * 19, "99999999999999999999", "9223372036854775808", "-9223372036854775809",
    "R-1", "R-1001", "r-1002", "R-", "R-²", "R-99999999999999999999", "0001-01-01", "9999-12-31", "2024-02-30",
    "0001-01-01T00:00:00+01:00", "../../etc/passwd", "%2e%2e%2f", "//evil.example", "/\\evil.example",
    "https://evil.example/", "<script>alert(1)</script>", "' OR '1'='1", "\u202eevil", "\ufeff", "null", "[]",
    "{}", "true", "en", "fr", "ar", "ar-DZ", "new", "verified", "resolved", "duplicate", "waste", "lighting",
    "yes", "no", "oldest", "all", "neighbourhood:1", "neighbourhood:99999999999999999999", "task:²", "category:x",
    "🙂" * 200,
]
# What a number parser meets: ASCII, Arabic-Indic and other decimal digits, superscripts and
# circled digits (isdigit() but not int()), past 64 bits, with signs and spaces.
number_like = st.text(st.sampled_from("0123456789²³¹①٣۴߄𝟙 +-_."), min_size=1, max_size=22)
short_text = st.one_of(
    st.sampled_from(NASTY),
    number_like,
    st.text(max_size=40),
    st.text(st.characters(categories=("Nd", "No", "Nl")), min_size=1, max_size=24),  # digits of every script
    st.text(st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Mn")), min_size=1, max_size=12),
    st.integers().map(str),
)
query_value = st.one_of(short_text, st.just("x" * 5000))
form_value = st.one_of(short_text, st.sampled_from(["é" * 8000] * 3 + ["x" * 70_000]))  # under and over the 64 KiB cap
header_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80)


def params(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Query parameters or form fields: some of `names` (a value, several, or none), and maybe a stranger."""
    value = st.one_of(query_value, st.lists(query_value, min_size=2, max_size=3))
    return st.builds(lambda known, extra: {**extra, **known},
                     st.fixed_dictionaries({}, optional={name: value for name in names}),
                     st.dictionaries(st.text(min_size=1, max_size=10), query_value, max_size=1))


def form_fields(names: tuple[str, ...], likely: dict[str, list[str]] | None = None,
                always: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """Form fields: each a plausible value (`likely`, so the handler gets past its first check), an odd
    one, several, or missing (except those in `always`)."""
    def value(name: str) -> st.SearchStrategy[Any]:
        odd = st.one_of(form_value, st.lists(form_value, min_size=2, max_size=3))
        if not (likely and name in likely):
            return odd
        # Half and half (one_of would flatten `odd`'s branches and make plausible values rare).
        return st.booleans().flatmap(lambda plausible: st.sampled_from(likely[name]) if plausible else odd)
    return st.fixed_dictionaries({name: value(name) for name in always},
                                 optional={name: value(name) for name in names if name not in always})


CSRF = st.sampled_from(["valid", "valid", "valid", "missing", "forged", "empty", "repeated", "file"])  # mostly valid: the handlers run


def send_form(client: TestClient, path: str, fields: dict[str, Any], csrf: str, token: str, shape: str) -> Any:
    """POST `fields` with the CSRF token as `csrf` says, as a urlencoded form, multipart with a file, or raw bytes."""
    fields = dict(fields)
    files = None
    if csrf == "valid":
        fields["csrf"] = token
    elif csrf == "forged":
        fields["csrf"] = "x" * len(token)
    elif csrf == "empty":
        fields["csrf"] = ""
    elif csrf == "repeated":
        fields["csrf"] = [token, "forged"]
    elif csrf == "file":
        files = {"csrf": ("csrf.txt", token.encode(), "text/plain")}
    if shape == "multipart" or files:
        files = files or {}
        name = next(iter(fields), "photo")
        files[name] = ("x.jpg", JPEG, "image/jpeg")  # a file where text is expected
        return client.post(path, data=fields, files=files, follow_redirects=False)
    if shape == "raw":  # not UTF-8, broken escapes; the token only when it is meant to be valid
        raw = b"\xff\xfe=\x80&%zz=%&status=\xc3&description=\xe2\x80" + (b"&csrf=" + token.encode() if csrf == "valid" else b"")
        return client.post(path, content=raw,
                           headers={"content-type": "application/x-www-form-urlencoded"}, follow_redirects=False)
    return client.post(path, data=fields, follow_redirects=False)


SHAPES = st.sampled_from(["urlencoded", "urlencoded", "urlencoded", "multipart", "raw"])


def valid_csrf(csrf: str, shape: str) -> bool:
    return csrf == "valid"


def assert_fine(response: Any) -> None:
    assert response.status_code < 500, f"{response.request.method} {response.request.url} → {response.status_code}"
    if 300 <= response.status_code < 400:
        location = response.headers["location"]
        assert location.startswith("/") and location[1:2] not in ("/", "\\"), f"redirect off the site: {location}"


@pytest.fixture
def web(db: Database, media_dir: Path, tmp_path: Path, reports: dict[str, int]) -> Iterator[TestClient]:  # noqa: F811
    with db.session() as session:
        for role in ("staff", "coordinator", "admin"):
            staff.add(session, f"{role}@city.example", PASSWORD, role)
    make_collective_task(db)
    app = create_app(load_settings(_env(db, media_dir, tmp_path)), db)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def stranger(web: TestClient) -> TestClient:
    """Someone with no session, on the same app."""
    return TestClient(web.app, base_url="http://testserver", raise_server_exceptions=False)


def reset_counters(client: TestClient) -> None:
    """Forget every rate limit's counts (log-ins, exports, the web chat's forms): in memory in these tests."""
    client.app.state.dashboard._counts.reset()
    client.app.state.chat._limits_storage.reset()


def token_of(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, "no CSRF token in the form"
    return found.group(1)


def log_in(client: TestClient, role: str) -> str:
    response = client.post("/login", data={"email": f"{role}@city.example", "password": PASSWORD,
                                           "csrf": token_of(client)}, follow_redirects=False)
    assert response.status_code == 303
    return token_of(client, "/queue")


def count(session: Any, table: Any) -> int:
    return session.execute(select(func.count()).select_from(table)).scalar_one()


def audit_count(db: Database) -> int:
    with db.session() as session:
        return count(session, AuditEntry)


@settings(FUZZ, max_examples=120)
@given(route=st.sampled_from(["/login", "/language", "/logout"]),
       fields=form_fields(("email", "password", "next", "language"), {
           "email": ["staff@city.example", "STAFF@city.example "], "password": ["guess"], "language": ["ar", "fr", "en"],
           "next": ["/queue", "//evil.example", "/\\evil.example", "https://evil.example", "/\t/evil.example"]}),
       csrf=CSRF, shape=SHAPES, query=params(("next", "lang")), accept=header_value, cookie=header_value)
def test_logging_in_and_choosing_a_language_with_odd_input(
    web: TestClient, db: Database, route: str, fields: dict[str, Any], csrf: str, shape: str,
    query: dict[str, Any], accept: str, cookie: str,
) -> None:
    reset_counters(web)  # so every example reaches the password check
    web.cookies.clear()
    page = web.get("/login", params=query, headers={"accept-language": accept.encode("latin-1"),
                                                     "cookie": b"coprod_lang=" + cookie.encode("latin-1")})
    assert_fine(page)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    before = audit_count(db)
    response = send_form(web, route, fields, csrf, token, shape)
    assert_fine(response)
    if not valid_csrf(csrf, shape):
        assert 400 <= response.status_code < 500, (route, csrf, shape, response.status_code)
        with db.session() as session:
            last = session.execute(select(AuditEntry.action, AuditEntry.after).order_by(AuditEntry.id.desc())).first()
        assert audit_count(db) == before, ("a refused form was audited as an attempt", route, csrf, shape, response.status_code, last)
    assert web.get("/queue", follow_redirects=False).status_code == 303, "logged in without the password"


@pytest.fixture
def admin(web: TestClient) -> str:
    return log_in(web, "admin")


PAGES = ["/queue", "/export/contributions.csv", "/export/contributions.geojson", "/export/contributions.xlsx",
         "/open-data/contributions.csv", "/open-data/contributions.geojson", "/open-data/contributions.%00",
         "/participation", "/tasks", "/audit", "/broadcasts", "/broadcasts/new", "/tasks/new", "/chat"]
IDS = st.one_of(st.sampled_from(["1", "2", "0", "999999", "9" * 19, "99999999999999999999", "²", "-1", "1.0", ""]),
                st.integers(min_value=0, max_value=10**30).map(str))
ID_PAGES = ["/contributions/{}", "/photos/{}", "/tasks/{}", "/broadcasts/{}", "/open311/v2/requests/{}.json",
            "/open311/v2/services/{}.xml", "/chat/static/{}", "/chat/media/{}"]
FILTERS = ("status", "category", "neighbourhood", "task", "from", "to", "photos", "q", "sort", "page", "lang", "embed",
           "error", "service_code", "start_date", "page_size", "locale")


@settings(FUZZ, max_examples=150)
@given(page=st.one_of(st.sampled_from(PAGES), st.builds(str.format, st.sampled_from(ID_PAGES), IDS)),
       query=params(FILTERS), logged_in=st.booleans())
def test_pages_filters_and_ids_with_odd_input(
    web: TestClient, stranger: TestClient, admin: str, page: str, query: dict[str, Any], logged_in: bool,
) -> None:
    reset_counters(web)  # exports are rate limited; the fuzzer wants to reach them
    response = (web if logged_in else stranger).get(page, params=query, follow_redirects=False)
    assert_fine(response)


def snapshot(db: Database, contribution: int) -> tuple[Any, ...]:
    with db.session() as session:
        item = session.get(Contribution, contribution)
        return (item.status, item.description, item.original_description, item.public_note, item.duplicate_of,
                count(session, ContributionNote), count(session, AuditEntry))


@settings(FUZZ, max_examples=200)
@given(which=st.sampled_from(["lamp", "bins"]), action=st.sampled_from(["status", "text"]),
       fields=form_fields(("status", "public_note", "internal_note", "duplicate_of", "description"), {
           "status": list(CONTRIBUTION_STATUSES), "duplicate_of": ["R-1001", "R-1002", "1", "2", "R-٣", "R-²"],
           "public_note": ["Fixed"], "description": ["Lamp out on Mill Lane"]}),
       csrf=CSRF, shape=SHAPES, logged_in=st.sampled_from([True, True, False]))
def test_changing_and_moderating_a_contribution_with_odd_input(
    web: TestClient, stranger: TestClient, db: Database, reports: dict[str, int], which: str, action: str,  # noqa: F811
    fields: dict[str, Any], csrf: str, shape: str, logged_in: bool,
) -> None:
    token = web.__dict__.get("fuzz_token") or log_in(web, "staff")
    web.__dict__["fuzz_token"] = token
    client = web if logged_in else stranger
    key = reports[which]
    before = snapshot(db, key)
    response = send_form(client, f"/contributions/{key}/{action}", fields, csrf, token if logged_in else token_of(stranger), shape)
    assert_fine(response)
    if not logged_in:
        assert (response.status_code == 303 and response.headers["location"].startswith("/login")
                or 400 <= response.status_code < 500), response.status_code  # a body over the cap: 413 first
    elif not valid_csrf(csrf, shape):
        assert 400 <= response.status_code < 500, response.status_code
    if not logged_in or not valid_csrf(csrf, shape) or response.status_code >= 400:
        assert snapshot(db, key) == before, "a refused change changed the contribution"


def coordination_state(db: Database) -> tuple[Any, ...]:
    with db.session() as session:
        tasks = session.execute(select(Task.id, Task.title, Task.place, Task.status, Task.capacity)).all()
        sent = session.execute(select(Broadcast.id, Broadcast.status)).all()
        return tuple(tasks), tuple(sent), count(session, AuditEntry)


PLAUSIBLE = {
    "title": ["Clean the park"], "kind": ["group", "collective"], "category": list(CATEGORIES),
    "neighbourhood": ["Riverside", "1"], "place": ["Footbridge"], "capacity": ["5", "500", "501", "٥", "²"],
    "schedule": ["every Friday 20:00-22:00", "Sat 5 Dec 9:00-12:00", "none"], "reminders": ["24h+1h", "none"],
    "audience": ["all", "neighbourhood:1", "task:1", "category:waste", "group:-1001", "task:²", "neighbourhood:٣",
                 "neighbourhood:99999999999999999999"],
    "text": ["Hello"], "signup_task": ["1", "٣", "²", "99999999999999999999"], "hold": ["no", "yes"],
    "language": ["ar", "fr", "en"], "photo": ["media:broadcasts/x.jpg", "media:../../coprod.db"],
    "next": ["/queue", "//evil.example"],
}
TASK_FORM = ("title", "kind", "category", "neighbourhood", "place", "schedule", "capacity", "reminders", "title_fr",
             "place_ar", "description")
BROADCAST_FORM = ("audience", "text", "text_ar", "text_fr", "signup_task", "hold", "photo")
COORDINATORS_FORMS = {"/tasks/new": TASK_FORM, "/tasks/{task}/edit": TASK_FORM, "/tasks/{task}/close": (),
                      "/broadcasts/preview": BROADCAST_FORM, "/broadcasts": BROADCAST_FORM, "/broadcasts/1/cancel": (),
                      "/language": ("language", "next")}


@settings(FUZZ, max_examples=150)
@given(form=st.sampled_from(sorted(COORDINATORS_FORMS)).flatmap(
           lambda route: st.tuples(st.just(route), form_fields(COORDINATORS_FORMS[route], PLAUSIBLE, always=tuple(
               name for name in ("audience", "text", "title", "kind") if name in COORDINATORS_FORMS[route])))),
       csrf=CSRF, shape=SHAPES)
def test_coordinators_forms_with_odd_input(
    web: TestClient, db: Database, form: tuple[str, dict[str, Any]], csrf: str, shape: str,
) -> None:
    route, fields = form
    token = web.__dict__.get("fuzz_token") or log_in(web, "coordinator")
    web.__dict__["fuzz_token"] = token
    with db.session() as session:
        task = session.execute(select(func.min(Task.id))).scalar_one()
        language = session.execute(select(StaffAccount.language).where(StaffAccount.role == "coordinator")).scalar_one()
    before = coordination_state(db)
    response = send_form(web, route.format(task=task), fields, csrf, token, shape)
    assert_fine(response)
    if not valid_csrf(csrf, shape):
        assert 400 <= response.status_code < 500, response.status_code
        assert coordination_state(db) == before, "a refused form changed a task or a broadcast"
        with db.session() as session:
            assert session.execute(select(StaffAccount.language).where(StaffAccount.role == "coordinator")).scalar_one() == language
    elif response.status_code >= 400:
        assert coordination_state(db)[:2] == before[:2], "a refused form changed a task or a broadcast"


SUBSCRIPTIONS = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"", b"null", b"[]", b"{}", b'{"endpoint": 1, "keys": []}', b'{"endpoint": "x", "keys": {"p256dh": 1, "auth": null}}',
                     b'{"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": {"p256dh": "' + b"a" * 300 + b'", "auth": "b"}}',
                     b'{"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": {"p256dh": "a", "auth": "b"}}',
                     b'{"endpoint": "http://127.0.0.1:5005/", "keys": {"p256dh": "a", "auth": "b"}}', b"\xff" * 5000]),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["endpoint", "keys", "p256dh", "auth"]), inner, max_size=3),
                 max_leaves=8).map(lambda value: json.dumps(value).encode()),
)
PHOTOS = st.lists(st.tuples(st.sampled_from(["photo", "photo", "photo", "caption", "id"]),
                            st.sampled_from([JPEG, PNG, b"GIF89a", b"", b"#!/bin/sh", b"\xff\xd8"]),
                            st.sampled_from(["a.jpg", "", "../../x.png", "é\u202e.gif", "a" * 300])), max_size=7)


@settings(FUZZ, max_examples=120)
@given(route=st.sampled_from(["/chat/upload", "/chat/push"]),
       secret=st.sampled_from(["page", "page", "page", "none", "made-up", "odd"]),
       csrf=st.sampled_from(["valid", "valid", "valid", "missing", "forged"]),
       fields=form_fields(("id", "caption"), {"id": ["0b7c6d1e-5f4a-4c3b-9a2d-1e0f9c8b7a6d", "abcdefgh"],
                                              "caption": ["le lampadaire est cassé", "/help"]}, always=("id",)),
       photos=PHOTOS,
       subscription=SUBSCRIPTIONS, length=st.sampled_from(["right", "right", "right", "missing", "huge", "odd"]))
def test_web_chat_uploads_and_push_subscriptions_with_odd_input(
    web: TestClient, route: str, secret: str, csrf: str, fields: dict[str, Any], photos: list[tuple[str, bytes, str]],
    subscription: bytes, length: str,
) -> None:
    reset_counters(web)  # the per-address limits would otherwise refuse everything after 30 tries
    web.cookies.clear()
    page = web.get("/chat")
    assert_fine(page)
    cookie = {"page": page.cookies.get("coprod_chat"), "none": None, "made-up": "m" * 43, "odd": "é\x01"}[secret]
    headers: dict[str, bytes] = {}
    if cookie is not None:
        headers["cookie"] = b"coprod_chat=" + cookie.encode()
    if csrf == "valid" and cookie is not None:
        headers["x-chat-csrf"] = csrf_for(cookie).encode()
    elif csrf == "forged":
        headers["x-chat-csrf"] = b"f" * 32
    web.cookies.clear()
    if route == "/chat/push":
        request = web.build_request("POST", route, content=subscription, headers={**headers, "content-type": "application/json"})
    else:
        files = [(name, (filename, data, "image/jpeg")) for name, data, filename in photos]
        request = web.build_request("POST", route, data=fields, files=files or None, headers=headers)
    if length == "missing":
        del request.headers["content-length"]
    elif length == "huge":
        request.headers["content-length"] = str(10**12)
    elif length == "odd":
        request.headers["content-length"] = "٣"  # another script's digit (isdigit(), and int() reads it)
    response = web.send(request)
    assert_fine(response)
    if length in ("missing", "huge") and cookie is not None and csrf == "valid" and secret == "page":
        assert response.status_code in (411, 413), response.status_code


def test_what_the_fuzzers_found_stays_fixed(web: TestClient, admin: str, reports: dict[str, int]) -> None:  # noqa: F811
    """Each of these was a 500 (or, for the task form, a 10 s wait on the database, then a 500)."""
    answers = {
        "/open311/v2/requests.json?start_date=0001-01-01T00:00:00%2B01:00": 200,  # before year 1 in UTC
        "/open311/v2/requests.json?end_date=9999-12-31T23:59:59-01:00": 200,  # after 9999 in UTC
        "/open311/v2/requests.json?start_date=2026-01-01t00:00:00.5z": 200,  # RFC 3339 allows it
        "/open311/v2/requests.json?service_request_id=R-1001&end_date=false": 400,  # checked, not ignored
        "/queue?page=²": 200, "/queue?task=²&neighbourhood=²": 200, "/export/contributions.csv?neighbourhood=²": 200,
        "/contributions/99999999999999999999": 404, "/photos/99999999999999999999": 404,
        "/tasks/99999999999999999999": 404, "/broadcasts/99999999999999999999": 404,
    }
    assert {path: web.get(path, follow_redirects=False).status_code for path in answers} == answers
    unsupported = web.request("TRACE", "/open311/v2/requests.json")
    assert unsupported.status_code == 405 and set(unsupported.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    off_the_map = web.post("/open311/v2/requests.json", data={"api_key": API_KEY, "service_code": "roads", "lat": "-91",
                                                              "long": "0", "address_string": "Mill Lane"})
    assert off_the_map.status_code == 400  # was created without its coordinates
    for form in ({"audience": "neighbourhood:99999999999999999999", "text": "Hello"},
                 {"audience": "task:99999999999999999999", "text": "Hello"}):
        assert web.post("/broadcasts/preview", data={**form, "csrf": admin}).status_code == 400
    for task in ("²", "99999999999999999999"):
        assert web.post("/broadcasts/preview", data={"audience": "all", "text": "Hello", "signup_task": task,
                                                     "csrf": admin}).status_code == 200
    wrong = web.post("/tasks/new", data={"csrf": admin, "title": "x", "kind": "group", "category": "waste",
                                         "neighbourhood": "1", "place": "Footbridge", "schedule": "soon",
                                         "capacity": "5", "reminders": "1h"})
    assert wrong.status_code == 400 and "A title has 3 to 120 characters" in wrong.text
