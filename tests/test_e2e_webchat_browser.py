"""A resident with only a browser, in Debian's Chromium driven by Playwright, against
the real Rasa server and action server, and the bridge process (no Telegram token)
sending reminders and broadcasts: consent, a report with a photo and the browser's
location, joining a patrol, its reminder arriving live, a broadcast missed while
away shown at the next visit, Arabic right to left, erasure. axe-core checks the
page. Screenshots are kept in tests/artifacts/ (look at them when this test changes)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from bot.config import load_settings
from bot.db import Database
from bot.models import Broadcast, Citizen, Delivery, WebVisitor
from bot.services import broadcasts
from bot.services.broadcasts import Audience
from bot.web.app import create_app
from tests.processes import Assistant, BridgeProcess, served
from tests.test_e2e_browser import ARTIFACTS, CHROMIUM_FLAGS
from tests.test_e2e_telegram import bring_first_reminder_forward, waited

pytestmark = pytest.mark.e2e
PHOTO = Path(__file__).parent / "data" / "bins.jpg"
MOSTAGANEM = {"latitude": 35.9311, "longitude": 0.0892}


@pytest.fixture
def city(assistant: Assistant, tmp_path: Path) -> Iterator[tuple[str, Database]]:
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: `apt-get install chromium` (make test does it as root)")
    env = {"DATABASE_URL": assistant.env["DATABASE_URL"], "MEDIA_DIR": assistant.env["MEDIA_DIR"],
           "RASA_URL": assistant.rasa_url, "COPROD_VAR_DIR": str(tmp_path), "QUIET_HOURS": "off"}
    sender = BridgeProcess(tmp_path, {**env, "TELEGRAM_TOKEN": "", "SCHEDULER_TICK_SECONDS": "0.5"}, name="sending")
    sender.start()
    settings = load_settings({**env, "DASHBOARD_SECRET": "web-chat-browser-test"})
    db = Database(env["DATABASE_URL"])
    try:
        with served(create_app(settings)) as url:
            yield url, db
    finally:
        sender.stop()
        db.dispose()


def serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_a_resident_with_only_a_browser_reports_joins_is_reminded_catches_up_and_erases(city: tuple[str, Database]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, db = city
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 780}, locale="en-GB",
            permissions=["geolocation"], geolocation=MOSTAGANEM,
        )
        context.route(lambda target: not target.startswith(url), lambda route: route.abort())  # nothing third-party
        page = context.new_page()
        page.goto(f"{url}/chat")
        bot = page.locator(".msg.bot")

        def choose(title: str) -> None:
            page.locator(".msg.bot button.choice", has_text=title).last.click()

        def say(text: str) -> None:
            page.fill("#text", text)
            page.keyboard.press("Enter")

        expect(bot.last).to_contain_text("Is that OK?", timeout=60_000)  # the assistant speaks first
        assert serious_violations(page) == []
        choose("I agree")
        expect(bot.last).to_contain_text("Which area", timeout=30_000)
        choose("Riverside")
        expect(bot.last).to_contain_text("Riverside", timeout=30_000)

        say("the street light outside the school is broken")
        expect(bot.last).to_contain_text("photo", timeout=30_000)
        page.set_input_files("#photo", str(PHOTO))
        page.click("#tray-send")
        expect(page.locator(".msg.me").last).to_contain_text("📷", timeout=30_000)
        expect(page.locator("#locate")).to_be_visible()
        page.click("#locate")
        expect(page.locator(".msg.me").last).to_contain_text("📍", timeout=30_000)
        summary = page.locator(".msg.bot", has_text="Please check your report").last
        expect(summary).to_contain_text("📍", timeout=30_000)
        expect(summary).to_contain_text("1 photo", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "webchat-summary.png"), full_page=True)
        summary.locator("button.choice", has_text="Send").click()
        expect(bot.last).to_contain_text("R-", timeout=30_000)

        say("/tasks")
        expect(bot.last).to_contain_text("Night safety patrol", timeout=30_000)
        page.locator(".msg.bot", has_text="Night safety patrol").last.locator("button.choice").first.click()
        expect(bot.last).to_contain_text("You're in", timeout=30_000)
        with db.session() as session:
            citizen = session.query(Citizen).filter(Citizen.channel == "web").order_by(Citizen.id.desc()).first()
            sender_id = citizen.sender_id
            bring_first_reminder_forward(session, citizen.id)
        expect(bot.last).to_contain_text("Reminder", timeout=30_000)  # live, with the page open
        assert serious_violations(page) == []
        page.screenshot(path=str(ARTIFACTS / "webchat-reminder.png"), full_page=True)
        page.close()

        # Away from the page: a broadcast waits for the next visit, and the report says so.
        assert waited(lambda: _offline(db, sender_id), timeout=15)
        with db.session() as session:
            key = broadcasts.start(session, "staff", Audience("all"), "Clean-up on Saturday at 9, meet at the market").id
        assert waited(lambda: _delivery(db, key, sender_id) == "unreachable", timeout=30)
        page = context.new_page()
        page.goto(f"{url}/chat")
        bot = page.locator(".msg.bot")
        expect(page.locator(".msg.bot", has_text="Clean-up on Saturday")).to_have_count(1, timeout=30_000)
        expect(page.locator(".msg", has_text="Night safety patrol").first).to_be_visible()  # the whole history

        say("/deleteme")
        expect(bot.last.locator("button.choice").first).to_be_visible(timeout=30_000)
        bot.last.locator("button.choice").first.click()
        assert waited(lambda: _erased(db, sender_id), timeout=30)
        browser.close()


def test_the_chat_reads_right_to_left_in_arabic_and_weighs_little(city: tuple[str, Database]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, _ = city
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 360, "height": 720}, locale="ar-DZ", extra_http_headers={"Accept-Language": "ar-DZ,ar"})
        page = context.new_page()
        weights: dict[str, int] = {}
        page.on("response", lambda r: weights.__setitem__(r.url, len(r.body())))
        page.goto(f"{url}/chat")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator(".msg.bot").last).to_contain_text("أوافق", timeout=60_000)
        assert page.get_attribute("#send", "aria-label") or page.inner_text("#send") == "إرسال"
        box, screen = page.locator(".msg.bot").last.bounding_box(), page.viewport_size
        assert box["x"] + box["width"] > screen["width"] * 0.8, "bot lines start on the right in Arabic"
        assert serious_violations(page) == []
        page.screenshot(path=str(ARTIFACTS / "webchat-arabic.png"), full_page=True)
        browser.close()
    # Uncompressed, all the JavaScript and CSS a phone loads: under the 100 KB (compressed) budget.
    assert 0 < sum(size for address, size in weights.items() if address.endswith((".js", ".css"))) < 100_000


def _offline(db: Database, sender_id: str) -> bool:
    with db.session() as session:
        visitor = session.query(WebVisitor).filter_by(sender_id=sender_id).one()
        return visitor.seen_at is None


def _delivery(db: Database, broadcast_id: int, sender_id: str) -> str | None:
    with db.session() as session:
        row = session.query(Delivery).filter_by(broadcast_id=broadcast_id, chat_id=sender_id).one_or_none()
        done = session.get(Broadcast, broadcast_id).status
        return row.status if row is not None and done == "done" else None


def _erased(db: Database, sender_id: str) -> bool:
    with db.session() as session:
        return (session.query(Citizen).filter_by(sender_id=sender_id).count() == 0
                and session.query(WebVisitor).filter_by(sender_id=sender_id).count() == 0)

