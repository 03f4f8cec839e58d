"""Language detection of a first message (script and words) with the app's language as a hint."""
from __future__ import annotations

import pytest

from bot.services.feedback import parse_rating
from bot.services.languages import detect


@pytest.mark.parametrize(
    ("text", "app", "expected"),
    [
        ("السلام عليكم", None, "ar"),
        ("السلام عليكم", "fr", "ar"),
        ("نحب نبلغ على الزبل", "en", "ar"),
        ("الـ lampadaire طافي قدام الدار", None, "ar"),
        ("kayen zbel bzaf 9odam l'école", None, "ar"),
        ("rani n7ab ndir signalement ta3 lampadaire", None, "ar"),
        ("salam khoya wesh rak", "fr", "fr"),
        ("je veux signaler une poubelle", None, "fr"),
        ("bonjour", "en", "fr"),
        ("Bonsoir, le lampadaire est cassé devant l'école", None, "fr"),
        ("hello, I want to report a broken light", "fr", "en"),
        ("what can I volunteer for", None, "en"),
        ("👍", "fr", "fr"),
        ("👍", None, None),
        ("ok", "ar-DZ", "ar"),
        ("/list_tasks", "fr", "fr"),
        ("", "de", None),
    ],
)
def test_detect(text: str, app: str | None, expected: str | None) -> None:
    assert detect(text, app) == expected


@pytest.mark.parametrize(
    ("typed", "rating"),
    [("3", 3), ("٣", 3), ("٤/٥", 4), ("۵", 5), ("4 نجوم", 4), ("4 étoiles", 4), ("⭐⭐", 2), ("²", None), ("6", None), ("٦", None)],
)
def test_ratings_in_any_script(typed: str, rating: int | None) -> None:
    assert parse_rating(typed) == rating
