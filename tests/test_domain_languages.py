"""Every response in domain.yml exists in English (default), French and Arabic, and the three agree.

Checked without Rasa: one unconditioned (English) variation and exactly one variation conditioned on the
`language` slot for each of fr and ar; the same placeholders, button payloads and number of buttons in all
three; Arabic text really is Arabic and isolates every placeholder (FSI U+2068 … PDI U+2069) so Latin text,
digits and dates don't scramble a right-to-left line; French is really translated and uses one
typographic convention (a no-break space U+00A0 before ? ! : ; » and after «).
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

DOMAIN_FILE = Path(__file__).resolve().parent.parent / "domain.yml"
RAW = DOMAIN_FILE.read_text(encoding="utf-8")
RESPONSES: dict[str, list[dict[str, Any]]] = yaml.safe_load(RAW)["responses"]
NAMES = sorted(RESPONSES)

LANGUAGES = ("fr", "ar")
FSI, PDI, RLM, NBSP = "\u2068", "\u2069", "\u200f", "\u00a0"
BIDI_CONTROLS = {"\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
ARABIC_LETTER = re.compile(r"[\u0620-\u064A\u0671-\u06D3\u06FA-\u06FC]")
LATIN_LETTER = re.compile(r"[A-Za-z\u00C0-\u024F]")
# Button titles that are the same in every language on purpose: each language's name in itself.
LANGUAGE_PICKER = "utter_ask_language"
LANGUAGE_NAMES = ["English", "Français", "العربية"]


def variations(name: str) -> dict[str, dict[str, Any]]:
    """The response's variations keyed by language ("en" = unconditioned); fails on anything else."""
    found: dict[str, list[dict[str, Any]]] = {}
    for variation in RESPONSES[name]:
        condition = variation.get("condition")
        if condition is None:
            found.setdefault("en", []).append(variation)
            continue
        assert isinstance(condition, list) and len(condition) == 1, f"{name}: condition must be one slot test: {condition!r}"
        test = condition[0]
        assert set(test) == {"type", "name", "value"} and test["type"] == "slot" and test["name"] == "language", (
            f"{name}: condition must be `type: slot, name: language`: {test!r}"
        )
        assert test["value"] in LANGUAGES, f"{name}: unexpected language value {test['value']!r}"
        found.setdefault(test["value"], []).append(variation)
    counts = {language: len(found.get(language, [])) for language in ("en", *LANGUAGES)}
    assert counts == {"en": 1, "fr": 1, "ar": 1}, f"{name}: want exactly one en (unconditioned), fr and ar variation, got {counts}"
    assert len(RESPONSES[name]) == 3, f"{name}: {len(RESPONSES[name])} variations, want 3"
    return {language: items[0] for language, items in found.items()}


def text(variation: dict[str, Any]) -> str:
    value = variation.get("text")
    assert isinstance(value, str) and value.strip(), f"variation without text: {variation!r}"
    return value


def buttons(variation: dict[str, Any]) -> list[dict[str, Any]]:
    return variation.get("buttons") or []


def titles(variation: dict[str, Any]) -> list[str]:
    return [button["title"] for button in buttons(variation)]


def placeholders(value: str) -> set[str]:
    return set(PLACEHOLDER.findall(value))


def words(value: str) -> str:
    """The text without its placeholders: what a translator had to translate."""
    return PLACEHOLDER.sub("", value)


def has_letters(value: str) -> bool:
    return any(ch.isalpha() for ch in words(value))


def outside_isolates(value: str) -> str:
    """The characters not enclosed in FSI…PDI, asserting that the isolates are balanced."""
    depth, kept = 0, []
    for ch in value:
        if ch == FSI:
            depth += 1
        elif ch == PDI:
            depth -= 1
            assert depth >= 0, f"PDI without FSI in {value!r}"
        elif depth == 0:
            kept.append(ch)
    assert depth == 0, f"FSI without PDI in {value!r}"
    return "".join(kept)


def first_strong_direction(value: str) -> str | None:
    for ch in outside_isolates(value):
        direction = unicodedata.bidirectional(ch)
        if direction in ("L", "R", "AL"):
            return direction
    return None


def test_domain_has_responses() -> None:
    assert len(NAMES) > 50


@pytest.mark.parametrize("name", NAMES)
def test_one_variation_per_language(name: str) -> None:
    found = variations(name)
    assert "condition" not in found["en"]
    for language in LANGUAGES:
        assert set(found[language]) - {"condition"} == set(found["en"]), (
            f"{name}/{language}: keys {sorted(found[language])} differ from English {sorted(found['en'])}"
        )


@pytest.mark.parametrize("name", NAMES)
def test_same_placeholders(name: str) -> None:
    found = variations(name)
    english = found["en"]
    for language in LANGUAGES:
        variation = found[language]
        assert placeholders(text(variation)) == placeholders(text(english)), (
            f"{name}/{language}: text placeholders {sorted(placeholders(text(variation)))} "
            f"!= English {sorted(placeholders(text(english)))}"
        )
        for index, (title, english_title) in enumerate(zip(titles(variation), titles(english))):
            assert placeholders(title) == placeholders(english_title), (
                f"{name}/{language}: button {index} placeholders {sorted(placeholders(title))} "
                f"!= English {sorted(placeholders(english_title))}"
            )


@pytest.mark.parametrize("name", NAMES)
def test_same_buttons_and_payloads(name: str) -> None:
    found = variations(name)
    english_payloads = [button["payload"] for button in buttons(found["en"])]
    for language in LANGUAGES:
        variation = found[language]
        assert len(buttons(variation)) == len(english_payloads), f"{name}/{language}: number of buttons differs"
        assert [button["payload"] for button in buttons(variation)] == english_payloads, f"{name}/{language}: payloads differ"
        for button in buttons(variation):
            assert set(button) == {"title", "payload"} and isinstance(button["title"], str) and button["title"].strip()


def test_main_menu_is_shared_per_language() -> None:
    """Responses that show the English main menu show the French/Arabic one (the &main_menu_fr/_ar anchors)."""
    for anchor in ("main_menu", "main_menu_fr", "main_menu_ar"):
        assert re.search(rf"&{anchor}\s", RAW), f"anchor &{anchor} missing"
    menu = variations("utter_main_menu")
    users = [name for name in NAMES if buttons(variations(name)["en"]) is buttons(menu["en"])]
    assert len(users) > 5
    for name in users:
        for language in LANGUAGES:
            assert buttons(variations(name)[language]) is buttons(menu[language]), (
                f"{name}/{language}: should reuse *main_menu_{language}"
            )


@pytest.mark.parametrize("name", NAMES)
def test_arabic_is_arabic_and_isolates_placeholders(name: str) -> None:
    found = variations(name)
    english, arabic = found["en"], found["ar"]
    everything = [text(arabic), *titles(arabic)]
    assert any(ARABIC_LETTER.search(value) for value in everything), f"{name}/ar: no Arabic letters"

    elements = [(text(arabic), text(english), "text")]
    if name != LANGUAGE_PICKER:
        elements += [(title, english_title, f"button {i}") for i, (title, english_title) in enumerate(zip(titles(arabic), titles(english)))]
    for value, english_value, where in elements:
        for match in PLACEHOLDER.finditer(value):
            before = value[match.start() - 1] if match.start() else ""
            after = value[match.end()] if match.end() < len(value) else ""
            assert before == FSI and after == PDI, f"{name}/ar {where}: {match.group(0)} not wrapped in U+2068…U+2069"
        latin = LATIN_LETTER.findall(outside_isolates(value))
        assert not latin, f"{name}/ar {where}: Latin text outside isolates ({''.join(latin)!r}) in {value!r}"
        if has_letters(english_value):
            assert ARABIC_LETTER.search(value), f"{name}/ar {where}: not translated: {value!r}"

    for number, line in enumerate(text(arabic).split("\n")):
        assert first_strong_direction(line) in ("R", "AL"), (
            f"{name}/ar line {number} would be laid out left-to-right (start it with Arabic or U+200F): {line!r}"
        )


@pytest.mark.parametrize("name", NAMES)
def test_french_is_translated(name: str) -> None:
    found = variations(name)
    english, french = found["en"], found["fr"]
    assert [text(french), *titles(french)] != [text(english), *titles(english)], f"{name}/fr: identical to English"
    if has_letters(text(english)):
        assert text(french) != text(english), f"{name}/fr: text not translated"
    if name != LANGUAGE_PICKER:
        for index, (title, english_title) in enumerate(zip(titles(french), titles(english))):
            if has_letters(english_title):
                assert title != english_title, f"{name}/fr: button {index} not translated: {title!r}"


@pytest.mark.parametrize("name", NAMES)
def test_french_typography_is_consistent(name: str) -> None:
    french = variations(name)["fr"]
    for value in [text(french), *titles(french)]:
        for index, ch in enumerate(value):
            if ch in "?!:;»":
                assert index > 0 and value[index - 1] == NBSP, (
                    f"{name}/fr: want a no-break space (U+00A0) before {ch!r} in {value!r}"
                )
            if ch == "«":
                assert value[index + 1 : index + 2] == NBSP, f"{name}/fr: want a no-break space after « in {value!r}"
        assert '"' not in value, f"{name}/fr: use « » quotes, not \" in {value!r}"


@pytest.mark.parametrize("name", NAMES)
def test_no_bidi_controls_outside_arabic(name: str) -> None:
    found = variations(name)
    for language in ("en", "fr"):
        for value in [text(found[language]), *titles(found[language])]:
            assert not BIDI_CONTROLS & set(value), f"{name}/{language}: unexpected bidi control in {value!r}"


def test_language_picker_names_each_language_in_itself() -> None:
    for language, variation in variations(LANGUAGE_PICKER).items():
        assert titles(variation) == LANGUAGE_NAMES, f"{LANGUAGE_PICKER}/{language}: {titles(variation)}"
