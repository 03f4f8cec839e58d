"""Arabic, Darija and French end to end: real Rasa, action server and bridge against the fake Bot API.

Each reply is checked against the catalogue of the citizen's language (domain.yml's
variations, the gettext catalogues), so a reply that falls back to English fails.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.db import Database
from bot.i18n import notice_text
from bot.models import Contribution, Signup
from bot.services import citizens
from tests.conftest import NEIGHBOURHOODS
from tests.fake_telegram import FakeTelegram
from tests import test_e2e_telegram as telegram
from tests.processes import BridgeProcess
from tests.test_e2e_telegram import Chat, bring_first_reminder_forward, db_media

pytestmark = pytest.mark.e2e
# The Telegram suite's fixtures: a fake Bot API server and a bridge of this module's own.
fake, bridge, db = telegram.fake, telegram.bridge, telegram.db
ROOT = Path(__file__).resolve().parent.parent
ARABIC = re.compile("[\u0621-\u064a]")
LATIN = re.compile("[A-Za-z]")
Call = dict[str, Any]


@lru_cache(maxsize=None)
def _responses() -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


def said(response: str, language: str) -> str:
    """The fixed opening words of a response in one language (up to its first placeholder)."""
    for variation in _responses()[response]:
        conditions = variation.get("condition") or []
        value = next((c["value"] for c in conditions if c.get("name") == "language"), "en")
        if value == language:
            opening = variation["text"].split("{")[0].strip()
            return opening[:24]
    raise AssertionError(f"{response} has no {language} variation")


def text_of(call: Call) -> str:
    return call["params"].get("text") or call["params"].get("caption") or ""


def titles(call: Call) -> list[str]:
    markup = call["params"].get("reply_markup") or {}
    return [key["text"] for row in markup.get("inline_keyboard", []) for key in row]


def mostly_arabic(text: str) -> bool:
    return len(ARABIC.findall(text)) > 2 * len(LATIN.findall(text))


class Citizen(Chat):
    """A chat whose every reply must be in `language`."""

    def __init__(self, fake: FakeTelegram, user_id: int, language: str, app_language: str = "en") -> None:
        self.fake, self.user_id, self.language = fake, user_id, language
        fake.add_user(user_id, language_code=app_language)
        self.seen: list[Call] = []

    def reply(self, start: int, contains: str = "", timeout: float = 60) -> Call:
        call = super().reply(start, contains, timeout)
        self.seen.append(call)
        return call

    def press_nth(self, message: Call, index: int, contains: str = "") -> Call:
        start = self.mark()
        keys = [key for row in message["params"]["reply_markup"]["inline_keyboard"] for key in row]
        self.fake.push_callback(self.user_id, message["result"], keys[index]["callback_data"])
        return self.reply(start, contains)

    def says(self, response: str) -> str:
        return said(response, self.language)

    def agrees(self, greeting: str, area: str) -> None:
        notice = self.say(greeting, self.says("utter_privacy_notice"))
        areas = self.press_nth(notice, 0, self.says("utter_ask_neighbourhood"))
        self.press(areas, area, self.says("utter_neighbourhood_set"))

    def reports_with_photo(self, caption: str, where: tuple[float, float]) -> tuple[Call, str]:
        """A photo with a caption, then a location, then Send: the saved reply and its reference."""
        start = self.mark()
        self.fake.push_message(self.user_id, photo_file_ids=[self.fake.add_file(b"\xff\xd8 photo")], caption=caption)
        self.reply(start)
        summary = self.say("", self.says("utter_report_summary"), location=where)
        saved = self.press_nth(summary, 0, self.says("utter_report_saved"))
        return saved, re.search(r"R-\d+", text_of(saved)).group()

    def rates_and_erases(self, asking: str, stars: str) -> None:
        rating = self.say(asking, self.says("utter_ask_rating"))
        comment = self.press(rating, stars, self.says("utter_ask_feedback_comment"))
        self.press_nth(comment, 0, self.says("utter_feedback_saved"))
        confirm = self.say("/deleteme", self.says("utter_ask_erase"))
        self.press_nth(confirm, 0, self.says("utter_erased"))


def test_a_citizen_does_everything_in_arabic(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = Citizen(fake, 6101, "ar")  # the app is in English: the first message decides
    chat.agrees("السلام عليكم", "Riverside")

    cards = chat.say("/tasks", "دورية أمن ليلية")
    joined = chat.press(cards, "دورية أمن ليلية", chat.says("utter_signed_up"))
    assert "نلتقي عند الجسر" in text_of(joined)

    saved, reference = chat.reports_with_photo("كاين الزبل بزاف ورا الجامع", (35.9311, 0.0892))
    assert "\u2068" + reference + "\u2069" in text_of(saved), "the reference is isolated inside Arabic text"

    mine = chat.say("/myreports", reference)
    assert mostly_arabic(text_of(mine))

    chat.rates_and_erases("نحب نعطي رايي على الخدمة", "4")

    for call in chat.seen:
        assert mostly_arabic(text_of(call)), text_of(call)
        words = [title for title in titles(call) if title not in NEIGHBOURHOODS]  # place names stay as they are
        assert all(mostly_arabic(title) or not LATIN.search(title) for title in words), titles(call)
    with db.session() as session:
        assert citizens.find_citizen(session, "6101") is None
        report = session.query(Contribution).filter(Contribution.category == "waste").order_by(Contribution.id.desc()).first()
        assert report.description is None, "erased with the citizen"


def test_a_citizen_does_everything_in_french(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = Citizen(fake, 6102, "fr", app_language="fr")
    chat.agrees("Bonjour", "Hillcrest")

    cards = chat.say("/tasks", "Nettoyage du samedi")
    chat.press(cards, "Nettoyage du samedi", chat.says("utter_signed_up"))

    _, reference = chat.reports_with_photo("le lampadaire est cassé devant la mosquée", (35.93, 0.09))
    chat.say("où en sont mes signalements ?", reference)
    chat.rates_and_erases("je voudrais donner mon avis", "5")
    with db.session() as session:
        assert citizens.find_citizen(session, "6102") is None
        with_photo = session.query(Contribution).filter(Contribution.category == "lighting").order_by(Contribution.id.desc()).first()
        assert with_photo is not None and not with_photo.photos, "photos erased with the citizen"


def test_arabizi_starts_a_waste_report(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = Citizen(fake, 6103, "ar")
    notice = chat.say("salam", "")
    chat.press_nth(notice, 0, chat.says("utter_ask_neighbourhood"))
    asked = chat.say("kayen zbel bzaf 9odam l'école", "")
    assert mostly_arabic(text_of(asked)), text_of(asked)
    summary = chat.say("la", chat.says("utter_report_summary"))
    assert "9odam l'école" in text_of(summary), "the place is kept whole"
    chat.press_nth(summary, 0, chat.says("utter_report_saved"))
    with db.session() as session:
        citizen = citizens.find_citizen(session, "6103")
        report = session.query(Contribution).filter_by(citizen_id=citizen.id).one()
        assert report.category == "waste"


def test_switching_language_mid_conversation_changes_every_later_message(
    fake: FakeTelegram, bridge: BridgeProcess, db: Database
) -> None:
    chat = Citizen(fake, 6104, "en")
    notice = chat.say("/start", said("utter_privacy_notice", "en"))
    areas = chat.press_nth(notice, 0, said("utter_ask_neighbourhood", "en"))
    chat.press(areas, "Hillcrest", said("utter_neighbourhood_set", "en"))
    cards = chat.say("/tasks", "Saturday clean-up")
    chat.press(cards, "Join: Saturday clean-up", said("utter_signed_up", "en"))

    chat.say("je préfère parler en français", said("utter_language_set", "fr"))
    chat.say("kayen 7ofra kbira f triq", said("utter_ask_location", "fr"))  # mixed input: still French
    chat.say("/tasks", said("utter_tasks_intro", "fr"))
    choices = chat.say("/language", said("utter_ask_language", "fr"))
    chat.press(choices, "العربية", said("utter_language_set", "ar"))
    with db.session() as session:
        citizen = citizens.find_citizen(session, "6104")
        assert citizen.language == "ar"
        bring_first_reminder_forward(session, citizen.id)
    start = chat.mark()
    expected = notice_text("reminder", "ar", title="X", when="", place="").split("X")[0]
    arrived = chat.reply(start, "تنظيف يوم السبت", timeout=30)
    assert text_of(arrived).startswith(expected), text_of(arrived)
    assert all(mostly_arabic(title) for title in titles(arrived)), titles(arrived)
    with db.session() as session:
        assert session.query(Signup).filter_by(citizen_id=citizen.id).count() == 1
    assert Path(db_media(db)).exists()


def test_the_command_menu_comes_in_each_language(fake: FakeTelegram, bridge: BridgeProcess) -> None:
    for language in ("fr", "ar"):
        call = fake.wait_for(lambda c: c["method"] == "setMyCommands" and c["params"].get("language_code") == language)
        descriptions = [c["description"] for c in call["params"]["commands"]]
        assert descriptions == [notice for notice in descriptions if notice]
        if language == "ar":
            assert all(mostly_arabic(d) for d in descriptions), descriptions
        else:
            assert "Signaler un problème" in descriptions or any("signal" in d.lower() for d in descriptions), descriptions
