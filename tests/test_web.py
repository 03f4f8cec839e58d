"""The staff dashboard and open data through Starlette's test client: every route, role and bad request."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Iterator
from xml.etree import ElementTree

import pytest
from starlette.testclient import TestClient

from bot.config import load_settings
from bot.db import Database
from bot.models import AuditEntry, Contribution, ContributionNote, Notification
from bot.services import citizens, staff
from bot.services.contributions import ContributionInput, PhotoInput, create_contribution
from bot.web.app import create_app
from tests.conftest import make_citizen

PASSWORD = "correct horse battery"


@pytest.fixture
def site(db: Database, media_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    env = {"DATABASE_URL": db.url, "MEDIA_DIR": str(media_dir), "COPROD_VAR_DIR": str(tmp_path),
           "DASHBOARD_SECRET": "test-secret", "OPEN311_API_KEYS": "key-1", "QUIET_HOURS": "off"}
    with db.session() as session:
        for role in ("staff", "coordinator", "admin"):
            staff.add(session, f"{role}@city.example", PASSWORD, role)
    with TestClient(create_app(load_settings(env), db), base_url="http://testserver") as client:
        yield client


def csrf(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, "no CSRF token in the form"
    return found.group(1)


def login(client: TestClient, role: str = "staff") -> None:
    response = client.post("/login", data={"email": f"{role}@city.example", "password": PASSWORD,
                                           "csrf": csrf(client)}, follow_redirects=False)
    assert response.status_code == 303


@pytest.fixture
def reports(db: Database, media_dir: Path) -> dict[str, int]:
    make_citizen(db, "4242")
    (media_dir / "lamp.jpg").write_bytes(b"\xff\xd8 jpeg")
    with db.session() as session:
        lamp = create_contribution(session, "4242", ContributionInput(
            category="lighting", description="<script>alert(1)</script> lamp out on Mill Lane",
            location_text="Mill Lane", latitude=48.856613, longitude=2.352222, photos=[PhotoInput("lamp.jpg")]),
            media_dir, 10_000)
        bins = create_contribution(session, "4242", ContributionInput(category="waste", description="=HYPERLINK(1) bins"), media_dir, 10)
        return {"lamp": lamp.id, "bins": bins.id}


def test_pages_need_a_login_and_apis_answer_401(site: TestClient, reports: dict[str, int]) -> None:
    for path in ("/queue", f"/contributions/{reports['lamp']}", "/photos/1"):
        response = site.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    assert site.get("/export/contributions.csv").status_code == 401
    blind = site.post(f"/contributions/{reports['lamp']}/status", data={"status": "verified"}, follow_redirects=False)
    assert blind.status_code == 303


def test_wrong_password_is_refused_and_logins_are_throttled(site: TestClient) -> None:
    token = csrf(site)
    for _ in range(5):
        refused = site.post("/login", data={"email": "staff@city.example", "password": "guess", "csrf": token})
        assert refused.status_code == 401 and "Wrong email or password" in refused.text
    throttled = site.post("/login", data={"email": "staff@city.example", "password": PASSWORD, "csrf": token})
    assert throttled.status_code == 429
    assert site.post("/login", data={"email": "nobody@city.example", "password": PASSWORD, "csrf": token}).status_code == 401


def test_forms_without_the_csrf_token_are_refused(site: TestClient, reports: dict[str, int]) -> None:
    assert site.post("/login", data={"email": "staff@city.example", "password": PASSWORD}).status_code == 403
    login(site)
    response = site.post(f"/contributions/{reports['lamp']}/status", data={"status": "verified", "csrf": "forged"})
    assert response.status_code == 403


def test_the_queue_filters_searches_and_escapes(site: TestClient, reports: dict[str, int]) -> None:
    login(site)
    page = site.get("/queue")
    assert page.status_code == 200 and "2 awaiting review" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert(1)" not in page.text
    lighting = site.get("/queue?category=lighting&photos=yes").text
    assert "R-%d" % (1000 + reports["lamp"]) in lighting and "R-%d" % (1000 + reports["bins"]) not in lighting
    assert "bins" in site.get("/queue?q=bins").text and "1 found" in site.get("/queue?q=bins").text
    assert "0 found" in site.get("/queue?q=%25").text
    assert site.get("/queue?status=bogus&page=-3&sort=x&from=notadate").status_code == 200


def test_detail_shows_photos_map_and_a_pseudonym_not_the_chat_id(site: TestClient, reports: dict[str, int]) -> None:
    login(site)
    page = site.get(f"/contributions/{reports['lamp']}").text
    assert "Citizen " in page and "4242" not in page
    assert 'id="map"' in page and "openstreetmap.org" in page
    photo = re.search(r'src="(/photos/\d+)"', page).group(1)
    assert site.get(photo).content == b"\xff\xd8 jpeg"
    assert site.get("/contributions/999999").status_code == 404
    assert site.get("/photos/999999").status_code == 404
    site.cookies.clear()
    assert site.get(photo, follow_redirects=False).status_code == 303


def test_only_admins_see_contact_details(site: TestClient, reports: dict[str, int]) -> None:
    login(site, "admin")
    assert "Telegram id 4242" in site.get(f"/contributions/{reports['lamp']}").text
    assert "telegram_id" in site.get("/export/contributions.csv").text


def test_resolving_with_a_public_note_tells_the_citizen_and_is_audited(site: TestClient, reports: dict[str, int], db: Database) -> None:
    login(site)
    token = csrf(site, f"/contributions/{reports['lamp']}")
    done = site.post(f"/contributions/{reports['lamp']}/status", data={
        "status": "resolved", "public_note": "New bulb fitted", "internal_note": "crew 3", "csrf": token,
    }, follow_redirects=False)
    assert done.status_code == 303
    with db.session() as session:
        item = session.get(Contribution, reports["lamp"])
        assert (item.status, item.public_note) == ("resolved", "New bulb fitted")
        kinds = sorted(n.kind for n in session.query(Notification).filter_by(contribution_id=item.id))
        assert kinds == ["report_followup", "report_resolved"]
        (entry,) = session.query(AuditEntry).filter_by(subject_type="contribution").all()
        assert entry.actor == "staff@city.example"
        assert json.loads(entry.before)["status"] == "new" and json.loads(entry.after)["status"] == "resolved"
        assert {(n.public, n.body) for n in session.query(ContributionNote)} == {(True, "New bulb fitted"), (False, "crew 3")}
    page = site.get(f"/contributions/{reports['lamp']}").text
    assert "crew 3" in page and "contribution.change" in page


def test_impossible_changes_are_refused(site: TestClient, reports: dict[str, int]) -> None:
    login(site)
    token = csrf(site, "/queue")
    lamp = reports["lamp"]
    assert site.post(f"/contributions/{lamp}/status", data={"status": "flying", "csrf": token}).status_code == 400
    assert site.post(f"/contributions/{lamp}/status", data={"status": "duplicate", "duplicate_of": "R-999999", "csrf": token}).status_code == 400
    ok = site.post(f"/contributions/{lamp}/status", data={"status": "duplicate", "duplicate_of": f"R-{1000 + reports['bins']}", "csrf": token}, follow_redirects=False)
    assert ok.status_code == 303
    assert site.post("/contributions/999999/status", data={"status": "verified", "csrf": token}).status_code == 404


def test_exports_for_staff_and_the_public(site: TestClient, reports: dict[str, int]) -> None:
    public = site.get("/open-data/contributions.geojson").json()
    lamp = next(f for f in public["features"] if f["properties"]["category"] == "lighting")
    assert lamp["geometry"]["coordinates"] == [2.352, 48.857]
    assert "description" not in lamp["properties"] and "citizen" not in lamp["properties"]
    login(site)
    rows = list(csv.DictReader(io.StringIO(site.get("/export/contributions.csv").text)))
    assert {row["category"] for row in rows} == {"lighting", "waste"}
    assert next(r for r in rows if r["category"] == "waste")["description"].startswith("'=")
    assert "telegram_id" not in rows[0]
    staff_geo = site.get("/export/contributions.geojson?category=lighting").json()
    assert staff_geo["features"][0]["geometry"]["coordinates"] == [2.352222, 48.856613]


def test_open311_reads_in_json_and_xml(site: TestClient, reports: dict[str, int]) -> None:
    assert site.get("/open311/v2/discovery.json").json()["endpoints"][0]["specification"].endswith("GeoReport_v2")
    services = site.get("/open311/v2/services.json").json()
    assert {s["service_code"] for s in services} >= {"lighting", "waste"}
    assert ElementTree.fromstring(site.get("/open311/v2/services.xml").content).tag == "services"
    assert site.get("/open311/v2/services/lighting.json").json()["service_code"] == "lighting"
    assert site.get("/open311/v2/services/nope.json").status_code == 404
    found = site.get("/open311/v2/requests.json?service_code=lighting&status=open").json()
    assert [r["service_request_id"] for r in found] == [f"R-{1000 + reports['lamp']}"]
    assert found[0]["lat"] == 48.857 and "description" not in found[0]
    one = ElementTree.fromstring(site.get(f"/open311/v2/requests/R-{1000 + reports['bins']}.xml").content)
    assert one.find("request/status").text == "open"
    assert site.get("/open311/v2/requests.json?status=maybe").status_code == 400
    assert site.get("/open311/v2/requests.json?start_date=yesterday").status_code == 400
    assert site.get("/open311/v2/requests/R-1.json").status_code == 404
    assert site.get("/open311/v2/requests.yaml").status_code == 404


def test_open311_post_needs_an_api_key_and_a_location(site: TestClient, db: Database) -> None:
    form = {"service_code": "roads", "lat": "48.85", "long": "2.35", "description": "Pothole"}
    assert site.post("/open311/v2/requests.json", data=form).status_code == 403
    assert site.post("/open311/v2/requests.json", data={**form, "api_key": "wrong"}).status_code == 403
    assert site.post("/open311/v2/requests.json", data={"service_code": "roads", "api_key": "key-1"}).status_code == 400
    created = site.post("/open311/v2/requests.json", data={**form, "api_key": "key-1"})
    assert created.status_code == 201
    reference = created.json()[0]["service_request_id"]
    with db.session() as session:
        item = session.get(Contribution, int(reference[2:]) - 1000)
        assert (item.category, item.citizen_id, item.description) == ("roads", None, "Pothole")


def test_logout_ends_the_session(site: TestClient) -> None:
    login(site)
    token = csrf(site, "/queue")
    assert site.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert site.get("/queue", follow_redirects=False).status_code == 303


def test_login_redirects_only_within_the_site(site: TestClient) -> None:
    token = csrf(site)
    response = site.post("/login", data={"email": "staff@city.example", "password": PASSWORD, "csrf": token,
                                         "next": "//evil.example/x"}, follow_redirects=False)
    assert response.headers["location"] == "/queue"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


@pytest.mark.parametrize(("role", "tasks", "audit"), [("staff", 403, 403), ("coordinator", 200, 403), ("admin", 200, 200)])
def test_each_role_sees_only_its_pages(site: TestClient, role: str, tasks: int, audit: int) -> None:
    login(site, role)
    assert site.get("/tasks").status_code == tasks
    assert site.get("/audit").status_code == audit
    if audit == 200:
        assert "staff.login" in site.get("/audit").text


def test_a_public_note_without_resolving_becomes_a_telegram_update(site: TestClient, reports: dict[str, int], db: Database) -> None:
    from bot.services import notifications
    from bot.services.notice_messages import render

    login(site)
    token = csrf(site, "/queue")
    site.post(f"/contributions/{reports['bins']}/status", data={
        "status": "in_progress", "public_note": "Crew booked for Tuesday", "csrf": token}, follow_redirects=False)
    with db.session() as session:
        (update,) = session.query(Notification).filter_by(kind="status_update").all()
        claimed = notifications.claim(session, update.id, update.due_at)
    text, buttons = render(claimed, "UTC")
    assert "being worked on" in text and "Crew booked for Tuesday" in text and buttons == []


def test_participation_shows_reach_per_1000_residents_and_outcomes(site: TestClient, reports: dict[str, int], db: Database) -> None:
    from bot.services import citizens
    from bot.services.feedback import record_feedback

    with db.session() as session:
        citizens.set_neighbourhood(session, "4242", "Riverside")
        record_feedback(session, "4242", 4, None)
    login(site)
    page = site.get("/participation").text
    assert "participants per 1,000 residents" in page
    assert "1 of 12,400 residents" in page and "0.08" in page
    assert "Street lighting" in page and "average 4.0" in page and "<svg" in page


def test_open311_is_readable_by_the_georeport_client_library(db: Database, reports: dict[str, int], tmp_path: Path) -> None:
    from georeport import GeoReport

    from tests.processes import served

    settings = load_settings({"DATABASE_URL": db.url, "COPROD_VAR_DIR": str(tmp_path), "DASHBOARD_SECRET": "x"})
    with served(create_app(settings, db)) as url:
        for output in ("json", "xml"):
            client = GeoReport(f"{url}/open311/v2", output_format=output)
            codes = [service["service_code"] for service in client.get_service_list()]
            assert "lighting" in codes and "waste" in codes
            lamp = f"R-{1000 + reports['lamp']}"
            found = client.get_service_requests(service_code="lighting", status="open")
            found = found if isinstance(found, list) else [found]
            assert [r["service_request_id"] for r in found] == [lamp]
            assert client.get_service_request(lamp)["service_code"] == "lighting"
            assert client.get_service_definition("waste")["service_code"] == "waste"


def test_coordinators_create_edit_and_close_tasks_in_the_browser(site: TestClient, db: Database) -> None:
    from bot.models import Task

    login(site, "coordinator")
    token = csrf(site, "/tasks/new")
    bad = site.post("/tasks/new", data={"csrf": token, "title": "x", "kind": "group", "category": "waste",
                                        "neighbourhood": "all", "place": "", "schedule": "soon", "capacity": "0", "reminders": "1h"})
    assert bad.status_code == 400 and "A title has 3 to 120 characters" in bad.text and "Write a day and a time range" in bad.text
    made = site.post("/tasks/new", data={"csrf": token, "title": "Park litter pick", "kind": "group", "category": "green_spaces",
                                         "neighbourhood": "all", "place": "Hillcrest Park", "schedule": "every saturday 9:00-11:00",
                                         "capacity": "12", "reminders": "1h"}, follow_redirects=False)
    assert made.status_code == 303
    page = site.get(made.headers["location"]).text
    assert "Park litter pick" in page and "12" in page
    key = int(made.headers["location"].rsplit("/", 1)[1])
    site.post(f"/tasks/{key}/edit", data={"csrf": token, "title": "Saturday park litter pick", "place": "Hillcrest Park gate",
                                          "description": "Gloves provided", "capacity": "10"})
    closed = site.post(f"/tasks/{key}/close", data={"csrf": token}, follow_redirects=False)
    assert closed.status_code == 303
    with db.session() as session:
        task = session.get(Task, key)
        assert (task.title, task.capacity, task.status, task.recurrence) == ("Saturday park litter pick", 10, "closed", "FREQ=WEEKLY;BYDAY=SA")
        actions = [e.action for e in session.query(AuditEntry).filter_by(subject_type="task")]
        assert actions == ["task.create", "task.edit", "task.close"]
    login(site, "staff")
    assert site.get("/tasks/new").status_code == 403


def test_a_broadcast_from_the_browser_previews_the_exact_count_and_refuses_bad_photos(site: TestClient, db: Database, media_dir: Path) -> None:
    from bot.models import Broadcast, Delivery

    for sender in ("501", "502", "503"):
        make_citizen(db, sender)
    login(site, "coordinator")
    token = csrf(site, "/broadcasts/new")
    form = {"csrf": token, "audience": "all", "text": "Clean-up on Saturday!", "signup_task": "", "hold": "yes"}
    not_image = site.post("/broadcasts/preview", data=form, files={"photo": ("x.jpg", b"MZ\x90\x00 not an image", "image/jpeg")})
    assert not_image.status_code == 400 and "not a JPEG" in not_image.text
    huge = site.post("/broadcasts/preview", data=form, files={"photo": ("big.jpg", b"\xff\xd8\xff" + b"0" * (10 * 2**20), "image/jpeg")})
    assert huge.status_code == 400 and "larger than" in huge.text
    assert site.post("/broadcasts/preview", data={**form, "audience": "category:fun"}).status_code == 400
    preview = site.post("/broadcasts/preview", data=form, files={"photo": ("bins.jpg", (Path(__file__).parent / "data" / "bins.jpg").read_bytes(), "image/jpeg")})
    assert preview.status_code == 200 and "This message will go to 3 citizens" in preview.text
    photo = re.search(r'name="photo" value="([^"]+)"', preview.text).group(1)
    assert photo.startswith("media:broadcasts/")
    assert site.post("/broadcasts", data={**form, "photo": "media:../../etc/passwd"}).status_code == 400
    sent = site.post("/broadcasts", data={**form, "photo": photo}, follow_redirects=False)
    assert sent.status_code == 303
    page = site.get(sent.headers["location"]).text
    assert "0 / 3 sent" in page and 'http-equiv="refresh"' in page
    key = int(sent.headers["location"].rsplit("/", 1)[1])
    site.post(f"/broadcasts/{key}/cancel", data={"csrf": token})
    with db.session() as session:
        assert session.get(Broadcast, key).status == "cancelled"
        assert session.query(Delivery).filter_by(broadcast_id=key, status="skipped").count() == 3
    assert (media_dir / photo.split(":", 1)[1]).is_file()
    login(site, "staff")
    assert site.get("/broadcasts/new").status_code == 403


def test_moderating_a_text_keeps_the_original(site: TestClient, reports: dict[str, int], db: Database) -> None:
    login(site)
    token = csrf(site, "/queue")
    site.post(f"/contributions/{reports['bins']}/text", data={"csrf": token, "description": "Bins overflowing (phone removed)"})
    site.post(f"/contributions/{reports['bins']}/text", data={"csrf": token, "description": "Bins overflowing"})
    assert site.post(f"/contributions/{reports['bins']}/text", data={"csrf": token, "description": "  "}).status_code == 400
    with db.session() as session:
        item = session.get(Contribution, reports["bins"])
        assert (item.description, item.original_description) == ("Bins overflowing", "=HYPERLINK(1) bins")
    assert "Edited by staff: original text" in site.get(f"/contributions/{reports['bins']}").text


def test_the_task_page_shows_attendance_per_session(site: TestClient, db: Database) -> None:
    from datetime import timedelta

    from bot.models import Signup, utcnow
    from bot.services import signups, tasks
    from tests.conftest import RULES

    for sender in ("601", "602", "603"):
        make_citizen(db, sender)
    with db.session() as session:
        start = utcnow() + timedelta(days=1)
        key = tasks.create_task(session, title="Evening watch", kind="group", category="safety", starts_at=start,
                                ends_at=start + timedelta(hours=1), capacity=5).id
        for sender in ("601", "602", "603"):
            signups.sign_up(session, sender, key, RULES)
        first, second, _ = session.query(Signup).order_by(Signup.id).all()
        first.attendance, second.attendance = "confirmed", "absent"
    login(site, "coordinator")
    row = re.search(r"<tr><td>[^<]+</td><td>3</td><td>2</td>\s*<td>1</td><td></td><td>1</td></tr>", site.get(f"/tasks/{key}").text)
    assert row, "3 signed up, 2 places left, 1 confirmed, 1 absent"


# languages: Arabic (right to left), French, English ----------------------------

LOCALE = Path(__file__).parents[1] / "bot" / "locale"


def speak(db: Database, role: str, language: str) -> None:
    from bot.models import StaffAccount

    with db.session() as session:
        account = session.query(StaffAccount).filter_by(email=f"{role}@city.example").one()
        staff.set_language(session, account.id, language)


def test_a_french_account_reads_the_queue_in_french_with_french_dates(site: TestClient, reports: dict[str, int], db: Database) -> None:
    from bot.i18n import category_label, format_when

    speak(db, "staff", "fr")
    login(site)
    page = site.get("/queue")
    assert '<html lang="fr" dir="ltr">' in page.text and page.headers["content-language"] == "fr"
    assert "File d'examen" in page.text and "Filtrer" in page.text and "2 à examiner" in page.text
    assert "Review queue" not in page.text and "Log out" not in page.text
    with db.session() as session:
        item = session.get(Contribution, reports["lamp"])
        received = format_when(item.created_at, "fr", "UTC")
    assert received in page.text and category_label("lighting", "fr") in page.text
    assert "Lieu :" in site.get(f"/contributions/{reports['lamp']}").text


def test_an_arabic_account_gets_a_right_to_left_page_in_arabic(site: TestClient, reports: dict[str, int], db: Database) -> None:
    speak(db, "coordinator", "ar")
    login(site, "coordinator")
    page = site.get("/queue").text
    assert '<html lang="ar" dir="rtl">' in page
    assert "قائمة المراجعة" in page and "تصفية" in page and "تسجيل الخروج" in page
    assert "text-align: start" in page and "text-align: left" not in page and "margin-left" not in page
    assert 'dir="rtl"' in site.get(f"/contributions/{reports['lamp']}").text
    assert "المهام" in site.get("/tasks").text
    missing = site.get("/contributions/999999")
    assert missing.status_code == 404 and "هذه المساهمة غير موجودة." in missing.text


def test_the_switcher_stores_the_language_on_the_account_and_audits_it(site: TestClient, db: Database) -> None:
    from bot.models import StaffAccount

    login(site)
    page = site.get("/queue").text
    assert all(f'value="{code}"' in page and name in page for code, name in
               [("ar", "العربية"), ("fr", "Français"), ("en", "English")])
    assert site.post("/language", data={"language": "fr", "next": "/queue"}).status_code == 403
    token = csrf(site, "/queue")
    assert site.post("/language", data={"language": "de", "csrf": token}).status_code == 400
    moved = site.post("/language", data={"language": "ar", "next": "/queue?status=new", "csrf": token}, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/queue?status=new"
    assert 'dir="rtl"' in site.get("/queue").text
    away = site.post("/language", data={"language": "fr", "next": "//evil.example/", "csrf": token}, follow_redirects=False)
    assert away.headers["location"] == "/queue"
    with db.session() as session:
        assert session.query(StaffAccount).filter_by(email="staff@city.example").one().language == "fr"
        changes = [(e.before, e.after) for e in session.query(AuditEntry).filter_by(action="staff.language").order_by(AuditEntry.id)]
    assert [(json.loads(before)["language"], json.loads(after)["language"]) for before, after in changes] == [("en", "ar"), ("ar", "fr")]
    site.cookies.clear()
    login(site)
    assert '<html lang="fr"' in site.get("/queue").text, "the language stays with the account"


def test_set_language_refuses_unknown_codes_and_accounts(db: Database) -> None:
    from bot.services.errors import InvalidInput

    with db.session() as session:
        account = staff.add(session, "someone@city.example", PASSWORD, "staff")
        assert staff.set_language(session, account.id, "ar") == "en"
        for bad in ("de", "", "AR", "ar-DZ"):
            with pytest.raises(InvalidInput):
                staff.set_language(session, account.id, bad)
        with pytest.raises(InvalidInput):
            staff.set_language(session, 999_999, "fr")
        assert account.language == "ar"


def test_the_login_page_follows_accept_language_and_the_switch(site: TestClient) -> None:
    assert '<html lang="en" dir="ltr">' in site.get("/login").text
    french = site.get("/login", headers={"Accept-Language": "de-DE,fr-FR;q=0.9,en;q=0.5"}).text
    assert '<html lang="fr" dir="ltr">' in french and "Mot de passe" in french
    arabic = site.get("/login", headers={"Accept-Language": "ar-DZ,ar;q=0.9,fr;q=0.8"}).text
    assert '<html lang="ar" dir="rtl">' in arabic and "كلمة المرور" in arabic
    assert '<html lang="en"' in site.get("/login", headers={"Accept-Language": "de, fr;q=0"}).text
    chosen = site.get("/login?lang=ar", headers={"Accept-Language": "fr"})
    assert 'dir="rtl"' in chosen.text and "coprod_lang=ar" in chosen.headers["set-cookie"]
    assert 'dir="rtl"' in site.get("/login", headers={"Accept-Language": "fr"}).text, "the cookie wins over the header"
    token = csrf(site)
    assert site.post("/language", data={"language": "xx", "csrf": token}).status_code == 400
    switched = site.post("/language", data={"language": "fr", "next": "/login", "csrf": token}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    page = site.get("/login").text
    assert '<html lang="fr"' in page and "Se connecter" in page
    refused = site.post("/login", data={"email": "staff@city.example", "password": "guess", "csrf": token})
    assert refused.status_code == 401 and "Adresse e-mail ou mot de passe incorrect." in refused.text


def test_exports_keep_english_column_names_in_every_language(site: TestClient, reports: dict[str, int], db: Database) -> None:
    headers, keys = set(), set()
    for language in ("en", "fr", "ar"):
        speak(db, "admin", language)
        login(site, "admin")
        assert f'lang="{language}"' in site.get("/queue").text
        text = site.get("/export/contributions.csv").text
        headers.add(text.splitlines()[0])
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {row["category"] for row in rows} == {"lighting", "waste"} and {row["status"] for row in rows} == {"new"}
        geo = site.get("/export/contributions.geojson").json()
        keys.add(tuple(sorted(geo["features"][0]["properties"])))
    assert len(headers) == 1 and headers.pop().startswith("reference,status,category,neighbourhood,created_at")
    assert len(keys) == 1


def test_open311_services_in_the_requested_locale(site: TestClient, reports: dict[str, int]) -> None:
    from bot.i18n import category_label

    def names(query: str) -> dict[str, tuple[str, str]]:
        response = site.get(f"/open311/v2/services.json{query}")
        return {s["service_code"]: (s["service_name"], s["description"]) for s in response.json()}

    for query, language in [("", "en"), ("?locale=en", "en"), ("?locale=fr", "fr"), ("?locale=ar", "ar"),
                            ("?locale=fr_DZ", "fr"), ("?locale=ar-DZ", "ar"), ("?locale=de", "en"), ("?locale=", "en")]:
        expected = {code: (category_label(code, language),) * 2 for code in ("lighting", "waste", "roads")}
        found = names(query)
        assert {code: found[code] for code in expected} == expected, query
    assert site.get("/open311/v2/services.json?locale=ar").headers["content-language"] == "ar"
    xml = ElementTree.fromstring(site.get("/open311/v2/services.xml?locale=fr").content)
    lamp = next(s for s in xml.findall("service") if s.find("service_code").text == "lighting")
    assert lamp.find("service_name").text == category_label("lighting", "fr")
    found = site.get("/open311/v2/requests.json?service_code=lighting&locale=ar").json()
    assert found[0]["service_name"] == category_label("lighting", "ar") and found[0]["status"] == "open"


def test_every_dashboard_message_is_translated_and_the_template_is_current(tmp_path: Path) -> None:
    from babel.messages.frontend import CommandLineInterface
    from babel.messages.pofile import read_po

    def catalogue(path: Path, language: str | None = None):  # type: ignore[no-untyped-def]
        with path.open("rb") as source:
            return read_po(source, locale=language)

    def ids(found) -> set[object]:  # type: ignore[no-untyped-def]
        return {message.id for message in found if message.id}

    root = Path(__file__).parents[1]
    fresh = tmp_path / "dashboard.pot"
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(root / "bot" / "web" / "babel.cfg"), "-k", "N_", "--no-location",
        "--sort-output", "-o", str(fresh), str(root / "bot" / "web"),
    ])
    template = catalogue(LOCALE / "dashboard.pot")
    assert ids(catalogue(fresh)) == ids(template), "bot/locale/dashboard.pot is stale: re-extract (see bot/web/babel.cfg)"
    assert len(ids(template)) > 150
    for language in ("fr", "ar"):
        found = catalogue(LOCALE / language / "LC_MESSAGES" / "dashboard.po", language)
        assert ids(found) == ids(template), language
        for message in found:
            if not message.id:
                continue
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(form.strip() for form in forms) and len(forms) == (found.num_plurals if message.pluralizable else 1), (language, message.id)
            assert not message.fuzzy, (language, message.id)
        assert [(m.id, errors) for m, errors in found.check()] == [], language


@pytest.mark.parametrize("language", ["ar", "fr", "en"])
def test_every_page_renders_in_every_language(site: TestClient, reports: dict[str, int], db: Database, language: str) -> None:
    from bot.services import citizens, feedback

    from tests.conftest import make_group_task

    with db.session() as session:
        citizens.set_neighbourhood(session, "4242", "Riverside")
        feedback.record_feedback(session, "4242", 5, None)
    task = make_group_task(db)
    speak(db, "admin", language)
    login(site, "admin")
    token = csrf(site, "/queue")
    site.post(f"/contributions/{reports['lamp']}/status", data={"status": "resolved", "public_note": "ok", "csrf": token})
    sent = site.post("/broadcasts", data={"csrf": token, "audience": "all", "text": "Hello", "signup_task": "", "hold": "yes"},
                     follow_redirects=False)
    pages = ["/queue", "/queue?page=2", f"/contributions/{reports['lamp']}", "/participation", "/tasks", "/tasks/new",
             f"/tasks/{task}", f"/tasks/{task}?error=taken", "/broadcasts", "/broadcasts/new", sent.headers["location"], "/audit"]
    for path in pages:
        page = site.get(path)
        assert page.status_code == 200, path
        assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in page.text, path
        if language != "en":
            assert "Coprod staff" not in page.text and "Log out" not in page.text, path
    preview = site.post("/broadcasts/preview", data={"csrf": token, "audience": "all", "text": "Hi", "signup_task": str(task), "hold": "no"})
    assert preview.status_code == 200 and f'lang="{language}"' in preview.text
    long = site.post("/broadcasts/preview", data={"csrf": token, "audience": "all", "text": "x" * 5000, "signup_task": "", "hold": "no"})
    assert long.status_code == 400 and ("4,000" in long.text if language == "en" else "Write a message" not in long.text)
    bad = site.post("/tasks/new", data={"csrf": token, "title": "x", "kind": "group", "category": "waste", "neighbourhood": "all",
                                        "place": "", "schedule": "soon", "capacity": "0", "reminders": "1h"})
    assert bad.status_code == 400 and ("A title has 3 to 120" in bad.text) == (language == "en")


def test_tasks_and_broadcasts_carry_words_in_each_language(site: TestClient, db: Database) -> None:
    from bot.models import Broadcast, Delivery, Task
    from bot.services.broadcasts import claim

    with db.session() as session:
        for sender, language in (("601", "ar"), ("602", "ar"), ("603", "fr"), ("604", "en")):
            citizens.give_consent(session, sender, language)
    login(site, "coordinator")
    token = csrf(site, "/tasks/new")
    made = site.post("/tasks/new", data={"csrf": token, "title": "Beach clean-up", "kind": "collective", "category": "waste",
                                         "neighbourhood": "all", "place": "Sablettes", "schedule": "", "reminders": "none",
                                         "title_ar": "تنظيف الشاطئ", "title_fr": "Nettoyage de la plage", "place_fr": ""},
                     follow_redirects=False)
    assert made.status_code == 303
    key = int(made.headers["location"].rsplit("/", 1)[1])
    too_long = site.post(f"/tasks/{key}/edit", data={"csrf": token, "title": "Beach clean-up", "place": "Sablettes",
                                                     "title_fr": "x" * 121}, follow_redirects=False)
    assert "error=title" in too_long.headers["location"]
    site.post(f"/tasks/{key}/edit", data={"csrf": token, "title": "Beach clean-up", "place": "Sablettes",
                                          "title_ar": "تنظيف الشاطئ", "place_ar": "صابلات"})
    with db.session() as session:
        assert session.get(Task, key).translations == {"ar": {"title": "تنظيف الشاطئ", "place": "صابلات"}}

    form = {"csrf": token, "audience": "all", "text": "Clean-up on Saturday!", "text_ar": "تنظيف يوم السبت!",
            "text_fr": "", "signup_task": str(key), "hold": "yes"}
    preview = site.post("/broadcasts/preview", data=form)
    assert preview.status_code == 200
    assert "2 citizens" in preview.text and "تنظيف يوم السبت!" in preview.text  # two read Arabic
    sent = site.post("/broadcasts", data=form, follow_redirects=False)
    broadcast_id = int(sent.headers["location"].rsplit("/", 1)[1])
    with db.session() as session:
        assert session.get(Broadcast, broadcast_id).texts == {"ar": "تنظيف يوم السبت!"}
        outbound = {d.chat_id: claim(session, d.id) for d in session.query(Delivery).filter_by(broadcast_id=broadcast_id)}
    assert outbound["601"].text == "تنظيف يوم السبت!" and outbound["601"].signup_title == "تنظيف الشاطئ"
    assert outbound["603"].text == "Clean-up on Saturday!" and outbound["603"].signup_title == "Beach clean-up"


def test_staff_see_citizens_per_channel_and_who_a_broadcast_cannot_reach_now(site: TestClient, db: Database) -> None:
    from bot.services.messaging import webchat

    make_citizen(db, "601")
    make_citizen(db, "602")
    with db.session() as session:
        visitor = webchat.adopt(session, "a-web-visitor-secret-of-enough-length")
        citizens.give_consent(session, visitor.sender_id)
    login(site, "coordinator")
    token = csrf(site, "/broadcasts/new")
    preview = site.post("/broadcasts/preview", data={"csrf": token, "audience": "all", "text": "Hi", "signup_task": "", "hold": "no"})
    assert "By channel: Telegram 2 · web chat 1" in preview.text and "1 not reachable now" in preview.text
    login(site, "staff")
    page = site.get("/participation").text
    assert "Citizens per channel" in page and "web chat" in page


def test_failed_logins_slow_down_the_guesser_not_the_owner_and_are_audited(db: Database, media_dir: Path, tmp_path: Path) -> None:
    """Five wrong passwords from one address lock that address out of that account only; the
    address comes from X-Forwarded-For only because the proxy is listed in FORWARDED_ALLOW_IPS."""
    from bot.models import AuditEntry

    env = {"DATABASE_URL": db.url, "MEDIA_DIR": str(media_dir), "COPROD_VAR_DIR": str(tmp_path),
           "DASHBOARD_SECRET": "test-secret", "FORWARDED_ALLOW_IPS": "testclient"}
    with db.session() as session:
        staff.add(session, "admin@city.example", PASSWORD, "admin")
    with TestClient(create_app(load_settings(env), db), base_url="http://testserver") as client:
        token = csrf(client)

        def attempt(password: str, address: str) -> int:
            return client.post("/login", data={"email": "admin@city.example", "password": password, "csrf": token},
                               headers={"X-Forwarded-For": address}, follow_redirects=False).status_code

        assert [attempt("guess", "203.0.113.9") for _ in range(6)] == [401] * 5 + [429]
        assert attempt(PASSWORD, "203.0.113.9") == 429  # the guesser's own address stays slowed down
        assert attempt(PASSWORD, "198.51.100.7") == 303  # the owner, elsewhere, logs in
    with db.session() as session:
        entries = [(e.action, e.after) for e in session.query(AuditEntry).filter(AuditEntry.action.like("staff.login%"))]
    assert [action for action, _ in entries].count("staff.login_failed") == 5
    assert [action for action, _ in entries].count("staff.login_throttled") == 2
    assert entries[-1][0] == "staff.login" and "198.51.100.7" in entries[-1][1]


def test_unauthenticated_bad_open311_requests_get_a_4xx_never_a_500(site: TestClient) -> None:
    for path in ("/open311/v2/requests/R-².json", "/open311/v2/requests/R-99999999999999999999999.json",
                 "/open311/v2/requests/١٢٣.json",
                 "/open311/v2/requests.json?page_size=٥", "/open311/v2/requests.json?page_size=9999999999999999999"):
        assert 400 <= site.get(path).status_code < 500, path
    assert site.get("/open311/v2/requests.json?service_request_id=R-²,R-1001").status_code == 200  # the bad id is skipped
    form = {"service_code": "roads", "lat": "48.85", "long": "2.35", "description": "Pothole"}
    assert site.post("/open311/v2/requests.json", data={**form, "api_key": "ключ"}).status_code == 403
    huge = site.post("/open311/v2/requests.json", data={**form, "api_key": "key-1", "description": "x" * 200_000})
    assert huge.status_code == 413
    upload = site.post("/open311/v2/requests.json", data={**form, "api_key": "key-1"}, files={"media": ("a.jpg", b"\xff\xd8", "image/jpeg")})
    assert upload.status_code == 400
