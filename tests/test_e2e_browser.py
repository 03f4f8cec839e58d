"""The dashboard in a real headless Chromium (Debian's, driven by Playwright), with the
bridge as a real process against the fake Bot API server: a staff member resolves a
report with a public note and the citizen gets it on Telegram. Screenshots are kept
in tests/artifacts/ (look at them when this test changes)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from bot.config import load_settings
from bot.services import citizens, staff
from bot.services.contributions import ContributionInput, PhotoInput, create_contribution
from bot.web.app import create_app
from tests.fake_telegram import FakeTelegram
from tests.processes import served
from tests.test_e2e_coordinators import Town

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-quic", "--disable-sync",
]
CITIZEN = 9800
PASSWORD = "correct horse battery"


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, Town, FakeTelegram]]:
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: `apt-get install chromium` (make test does it as root)")
    with FakeTelegram() as fake:
        town = Town(tmp_path, fake)
        fake.add_user(CITIZEN)
        media = tmp_path / "media"
        (media / "bins.jpg").write_bytes((Path(__file__).parent / "data" / "bins.jpg").read_bytes())
        with town.db.session() as session:
            staff.add(session, "staff@city.example", PASSWORD, "staff")
            citizens.give_consent(session, str(CITIZEN))
            citizens.set_neighbourhood(session, str(CITIZEN), "Riverside")
            for text, category in [("Street light out by the school", "lighting"), ("Pothole on Mill Road", "roads")]:
                create_contribution(session, str(CITIZEN), ContributionInput(category=category, description=text), media, 10)
            create_contribution(session, str(CITIZEN), ContributionInput(
                category="waste", description="Bags of rubbish dumped behind the market", location_text="Market lane",
                latitude=48.8566, longitude=2.3522, photos=[PhotoInput("bins.jpg")]), media, 100_000)
        town.bridge()
        settings = load_settings({"DATABASE_URL": town.url, "MEDIA_DIR": str(media), "COPROD_VAR_DIR": str(tmp_path),
                                  "DASHBOARD_SECRET": "browser-test", "QUIET_HOURS": "off"})
        with served(create_app(settings)) as url:
            yield url, town, fake
        town.close()


def test_staff_resolve_a_report_in_the_browser_and_the_citizen_is_told(dashboard: tuple[str, Town, FakeTelegram]) -> None:
    from playwright.sync_api import sync_playwright

    url, _, fake = dashboard
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.route("https://unpkg.com/**", lambda route: route.abort())  # no internet: the map must degrade
        page.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
        page.goto(f"{url}/queue")
        assert "/login" in page.url
        page.fill("input[name=email]", "staff@city.example")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        page.wait_for_url(f"{url}/queue")
        assert "3 awaiting review" in page.inner_text("h1")
        page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)
        page.select_option("select[name=category]", "waste")
        page.click("button:has-text('Filter')")
        page.wait_for_url("**category=waste**")
        rows = page.locator("tbody tr")
        assert rows.count() == 1 and "Bags of rubbish" in rows.inner_text()
        page.click("tbody tr a")
        page.wait_for_selector("#map")
        assert page.locator(".photos img").evaluate("img => img.naturalWidth") > 0
        assert "OpenStreetMap" in page.inner_text("#map")
        page.select_option("select[name=status]", "resolved")
        page.fill("textarea[name=public_note]", "Cleared by the city crew this morning")
        page.screenshot(path=str(ARTIFACTS / "detail.png"), full_page=True)
        page.click("form[action$='/status'] button")
        page.wait_for_selector("text=fixed")
        page.goto(f"{url}/participation")
        page.screenshot(path=str(ARTIFACTS / "participation.png"), full_page=True)
        browser.close()
    told = fake.wait_for(
        lambda c: c["method"] == "sendMessage" and c["chat_id"] == CITIZEN
        and "Cleared by the city crew this morning" in (c["params"].get("text") or ""),
        timeout=30,
    )
    assert "has been fixed" in told["params"]["text"]


def test_an_arabic_staff_member_gets_the_dashboard_right_to_left(dashboard: tuple[str, Town, FakeTelegram]) -> None:
    from playwright.sync_api import sync_playwright

    url, town, _ = dashboard
    with town.db.session() as session:
        account = staff.add(session, "arabic@city.example", PASSWORD, "staff")
        staff.set_language(session, account.id, "ar")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="ar-DZ")
        page.route("https://unpkg.com/**", lambda route: route.abort())
        page.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
        page.goto(f"{url}/queue")
        assert "/login" in page.url
        assert page.evaluate("document.documentElement.dir") == "rtl", "the login page follows Accept-Language"
        page.fill("input[name=email]", "arabic@city.example")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button")
        page.wait_for_url(f"{url}/queue")
        assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
        assert "المساهمات" in page.inner_text("h1") and "3" in page.inner_text("h1")
        # Mirrored: the first column and the first filter sit on the right.
        first, last = page.locator("thead th").first.bounding_box(), page.locator("thead th").last.bounding_box()
        assert first["x"] > last["x"]
        filters = page.locator("form.filters label")
        assert filters.first.bounding_box()["x"] > filters.nth(1).bounding_box()["x"]
        assert page.locator("thead th").first.evaluate("th => getComputedStyle(th).textAlign") == "start"
        page.screenshot(path=str(ARTIFACTS / "queue_ar.png"), full_page=True)
        page.locator("tbody tr a", has_text="R-").first.click()
        page.wait_for_url("**/contributions/**")
        assert page.evaluate("document.documentElement.dir") == "rtl"
        assert "متابعة المعالجة" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "detail_ar.png"), full_page=True)
        browser.close()
