"""The Arabic fold on its own: each variant the issue names, and offsets that map back."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.arabic_normaliser import ArabicNormaliser, RestoreOriginalText, unfold_span
from nlu.arabic_text import fold, normalise


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("أريد", "اريد"),  # hamza on alef
        ("إسمي", "اسمي"),
        ("آخر", "اخر"),
        ("مدرسة", "مدرسه"),  # taa marbuta
        ("مستشفى", "مستشفي"),  # alef maqsura
        ("شكـــرا", "شكرا"),  # tatweel
        ("مَدْرَسَةٌ", "مدرسه"),  # harakat
        ("تقييم ٥/٥", "تقييم 5/5"),  # Arabic-Indic digits
        ("۱۲۳", "123"),  # Eastern Arabic-Indic digits
        ("مسؤول", "مسوول"),
        ("شكراااااا", "شكرا"),  # a letter held down
        ("الله", "الله"),  # a real double letter stays
        ("merciiiii", "mercii"),
        ("kayen zbel bzaf 9odam l'école", "kayen zbel bzaf 9odam l'école"),  # Arabizi untouched
        ("واش؟", "واش?"),
    ],
)
def test_fold(typed: str, folded: str) -> None:
    assert normalise(typed) == folded


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x6ff), max_size=60))
def test_origins_point_into_the_original(text: str) -> None:
    folded = fold(text)
    assert len(folded.origins) == len(folded.text)
    assert folded.origins == sorted(set(folded.origins))
    assert all(0 <= o < len(text) for o in folded.origins)
    assert normalise(folded.text) == folded.text  # folding twice changes nothing


def test_training_entities_follow_the_folded_text() -> None:
    text = "الزبـــل قدّام المدرسة"
    start = text.index("قدّام")
    example = Message(data={"text": text, "intent": "report", "entities": [
        {"entity": "address", "start": start, "end": len(text), "value": text[start:]},
    ]})
    ArabicNormaliser().process_training_data(TrainingData([example]))
    entity = example.get("entities")[0]
    assert example.get("text")[entity["start"]:entity["end"]] == "قدام المدرسه"


def test_extracted_entities_read_as_the_citizen_wrote_them() -> None:
    text = "الضوء طافي قدّام المدرسة"
    message = Message(data={"text": text})
    ArabicNormaliser().process([message])
    folded = message.get("text")
    start = folded.index("قدام")
    message.set("entities", [
        {"entity": "address", "start": start, "end": len(folded), "value": folded[start:]},
        {"entity": "category", "start": 0, "end": 5, "value": "lighting"},
    ])
    RestoreOriginalText().process([message])
    address, category = message.get("entities")
    assert address["value"] == "قدّام المدرسة"
    assert text[address["start"]:address["end"]] == "قدّام المدرسة"
    assert category["value"] == "lighting"
    assert message.get("text") == text


def test_unfold_span_of_an_empty_span() -> None:
    assert unfold_span([], 0, 0) == (0, 0)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("كاين الزبل بزاف قدام الليسي", "waste"),  # the article glued on
        ("والحفرات في الطريق", "roads"),  # a conjunction before, a plural after
        ("الضوء مطفأ", "lighting"),
        ("dow tafi f zen9a", "lighting"),
        ("les ordures partout", "waste"),
        ("rats around the dumpsters", "waste"),
    ],
)
def test_the_category_lexicon_reads_every_language(text: str, category: str) -> None:
    from nlu.category_normaliser import CategoryNormaliser

    chosen = CategoryNormaliser({}).choose(normalise(text), [])
    assert chosen is not None and chosen["value"] == category
