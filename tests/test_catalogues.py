"""The gettext catalogues of what Python says (domain "coprod"): complete, in step with bot/messages.py,
and used by bot.i18n. After changing bot/messages.py run `make messages` and translate what is new."""
from __future__ import annotations

import re
import string
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot import i18n, messages
from bot.catalogues import LOCALE_DIR, po_path
from bot.db import Database
from bot.models import Broadcast, Delivery, Task
from bot.services import broadcasts, citizens, coordination, signups
from bot.telegram.coordinator import describe_rule
from tests.conftest import RULES, make_citizen, make_collective_task

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = LOCALE_DIR / "coprod.pot"
TRANSLATED = ("fr", "ar")
# Placeholders whose value may be Latin text, digits, a date or a reference: in Arabic they sit
# inside U+2068 … U+2069 so that Telegram lays them out right inside right-to-left text.
DATA_PLACEHOLDERS = {
    "title", "when", "place", "reference", "public_note", "neighbourhood", "link", "id", "count", "megabytes",
    "covered", "shifts", "reports", "taken", "sent", "total", "failed", "blocked", "skipped",
    "unreachable", "telegram", "web", "n", "reason",
}
FSI, PDI = "\u2068", "\u2069"


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def entries(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def forms(message: Message) -> list[str]:
    return list(message.string) if message.pluralizable else [message.string]


def ids(message: Message) -> list[str]:
    return list(message.id) if message.pluralizable else [message.id]


def every_english() -> set[str]:
    tables = (messages.CATEGORY_LABELS, messages.STATUS_LABELS, messages.CHANNEL_TEXTS,
              messages.NOTICE_TEXTS, messages.COORDINATOR_TEXTS, messages.WEBCHAT_TEXTS)
    return {text for table in tables for text in table.values()} | {pair[0] for pair in messages.PLURAL_TEXTS.values()}


def test_template_is_up_to_date_with_the_messages(tmp_path: Path) -> None:
    """A string added to bot/messages.py without `make messages` (and translations) fails here."""
    fresh = tmp_path / "coprod.pot"
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "--no-default-keywords", "-k", "N_", "-k", "NP_:1,2",
        "-o", str(fresh), str(ROOT / "bot" / "messages.py"),
    ])
    extracted = {message.id: message.pluralizable for message in entries(load(fresh))}
    stored = {message.id: message.pluralizable for message in entries(load(TEMPLATE))}
    assert extracted == stored
    assert {i if isinstance(i, str) else i[0] for i in stored} == every_english()


def test_english_plural_pairs_use_count_and_the_same_placeholders() -> None:
    for key, (singular, plural) in messages.PLURAL_TEXTS.items():
        assert "count" in fields(singular) and fields(singular) == fields(plural), key


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str) -> None:
    catalog = load(po_path("coprod", language), language)
    assert catalog.num_plurals == get_plural(language).num_plurals
    assert catalog.plural_expr == get_plural(language).plural_expr
    translated = {message.id: message for message in entries(catalog) if message.id}
    problems = []
    for source in entries(load(TEMPLATE)):
        message = translated.get(source.id)
        if message is None:
            problems.append(f"missing: {source.id!r}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {source.id!r}")
        wanted = set().union(*(fields(text) for text in ids(source)))
        texts = forms(message)
        if source.pluralizable and len(texts) != catalog.num_plurals:
            problems.append(f"{len(texts)} of {catalog.num_plurals} plural forms: {source.id!r}")
        for text in texts:
            if not text.strip():
                problems.append(f"empty: {source.id!r}")
            elif fields(text) != wanted:
                problems.append(f"placeholders {sorted(fields(text))} instead of {sorted(wanted)}: {source.id!r}")
    assert not problems, "\n".join(problems)


def test_arabic_isolates_placeholders_that_may_hold_latin_text_or_digits() -> None:
    problems = []
    for message in entries(load(po_path("coprod", "ar"), "ar")):
        for text in forms(message):
            depth = 0
            for char in text:
                depth += (char == FSI) - (char == PDI)
                if depth < 0:
                    break
            if depth != 0:
                problems.append(f"unbalanced isolates: {text!r}")
            outside = re.sub(f"{FSI}[^{FSI}{PDI}]*{PDI}", "", text)
            naked = fields(outside) & DATA_PLACEHOLDERS
            if naked:
                problems.append(f"{sorted(naked)} not isolated: {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ("en",) + TRANSLATED)
def test_the_reminder_keeps_its_place_line(language: str) -> None:
    """notice_messages drops the line starting with 📍 when a task has no place."""
    text = i18n.notice_text("reminder", language, title="T", when="W", place="P")
    assert [line for line in text.split("\n") if line.startswith("📍")] == [line for line in text.split("\n") if "P" in line]


def test_i18n_speaks_french() -> None:
    assert i18n.coordinator_text("cancelled", "fr") == "Annulé. Rien n'a été enregistré."
    assert i18n.coordinator_text("task.not_found", "fr", id=12) == "Il n'y a pas de tâche #12."
    assert i18n.notice_text("button.coming", "fr") == "Je serai là"
    assert i18n.channel_text("too_big", "fr", megabytes=10) == "Ce fichier est trop lourd. Envoyez une photo de moins de 10 Mo."
    assert i18n.category_label("lighting", "fr") == "Éclairage public"
    assert i18n.status_label("resolved", "fr") == "réglé"
    assert i18n.plural_text("task.unscheduled", 1, "fr") == "1 citoyen s'est inscrit."
    assert i18n.plural_text("task.unscheduled", 3, "fr") == "3 citoyens se sont inscrits."
    assert i18n.plural_text("broadcast.preview", 1200, "fr").startswith("Ce message sera envoyé à 1\u202f200 citoyens.")
    assert describe_rule("FREQ=WEEKLY;BYDAY=TU,TH", "fr") == "chaque mardi et jeudi"


def test_i18n_speaks_arabic() -> None:
    assert i18n.coordinator_text("cancelled", "ar") == "تم الإلغاء. لم يُحفظ أي شيء."
    assert i18n.notice_text("button.coming", "ar") == "سأحضر"
    assert i18n.channel_text("chosen", "ar", title="Oui") == f"✓ {FSI}Oui{PDI}"
    assert i18n.category_label("water", "ar") == "المياه والصرف الصحي"
    assert i18n.status_label("new", "ar") == "تم استلامه"
    assert i18n.notice_text("report_resolved", "ar", reference="R-1042", category=i18n.category_label("waste", "ar")) == (
        f"✅ خبر سار: تم حل المشكلة في بلاغك {FSI}R-1042{PDI} (النفايات والرمي العشوائي)."
    )
    spoken = {n: i18n.plural_text("task.unscheduled", n, "ar") for n in (0, 1, 2, 5, 11, 100)}
    assert spoken[2] == f"انضم {FSI}2{PDI} مواطنان."
    assert spoken[5] == f"انضم {FSI}5{PDI} مواطنين."
    assert spoken[11] == f"انضم {FSI}11{PDI} مواطنًا."
    assert spoken[100] == f"انضم {FSI}100{PDI} مواطن."
    assert i18n.plural_text("close.done", 1200, "ar", id=7).count("1.200") == 1


def test_dates_and_numbers_follow_the_language() -> None:
    friday = datetime(2026, 12, 4, 19, 0)
    assert i18n.format_when(friday, "en", "Africa/Algiers") == "Fri 4 Dec, 20:00"
    assert i18n.format_when(friday, "fr", "Africa/Algiers") == "ven. 4 déc. à 20:00"
    assert i18n.format_when(friday, "ar", "Africa/Algiers") == "الجمعة 4 ديسمبر، 20:00"
    assert i18n.format_when(datetime(2026, 1, 9, 9, 30), "ar", "Africa/Algiers") == "الجمعة 9 جانفي، 10:30"
    assert i18n.format_number(1234567, "en") == "1,234,567"
    assert i18n.format_number(1234567, "fr") == "1\u202f234\u202f567"
    assert i18n.format_number(1234567, "ar") == "1.234.567"  # Latin digits, as in Algeria


@pytest.mark.parametrize("language", ("de", "", "xx_YY"))
def test_an_unknown_language_reads_english(language: str) -> None:
    assert i18n.coordinator_text("cancelled", language) == "Cancelled. Nothing was saved."
    assert i18n.notice_text("button.coming", language) == "I'll be there"
    assert i18n.channel_text("too_big", language, megabytes=10) == "That file is too big. Please send a photo under 10 MB."
    assert i18n.category_label("water", language) == "Water and drains"
    assert i18n.status_label("resolved", language) == "fixed"
    assert i18n.category_label("unknown_code", language) == "unknown_code"
    assert i18n.plural_text("close.done", 1, language, id=3) == "Task #3 is closed. I'm telling the 1 citizen who signed up."
    assert i18n.plural_text("close.done", 4, language, id=3) == "Task #3 is closed. I'm telling the 4 citizens who signed up."
    assert i18n.format_when(datetime(2026, 12, 4, 19, 0), language, "Africa/Algiers") == "Fri 4 Dec, 20:00"
    assert i18n.format_number(1234, language) == "1,234"


def test_closing_a_task_tells_each_citizen_in_their_language(db: Database) -> None:
    task_id = make_collective_task(db, title="Beach clean-up")
    for name, language in (("amine", "ar"), ("chloe", "fr"), ("sam", "en")):
        make_citizen(db, name)
        with db.session() as session:
            citizens.set_language(session, name, language)
            signups.sign_up(session, name, task_id, RULES)
    with db.session() as session:
        session.get(Task, task_id).translations = {"fr": {"title": "Nettoyage de la plage"}}
    with db.session() as session:
        _, was_open, told = coordination.close_and_tell(session, task_id, "9001")
        broadcast = session.query(Broadcast).one()
        assert was_open and told == 3
        assert broadcast.text.startswith("ℹ️ Beach clean-up has been cancelled")
        assert broadcast.texts["fr"].startswith("ℹ️ Les organisateurs ont annulé Nettoyage de la plage.")
        assert broadcast.texts["ar"].startswith(f"ℹ️ ألغى المنظمون {FSI}Beach clean-up{PDI}.")
        deliveries = session.query(Delivery).filter_by(broadcast_id=broadcast.id).all()
        jobs = {job.language: job.text for job in (broadcasts.claim(session, d.id) for d in deliveries) if job}
    assert jobs == {"en": broadcast.text, "fr": broadcast.texts["fr"], "ar": broadcast.texts["ar"]}
