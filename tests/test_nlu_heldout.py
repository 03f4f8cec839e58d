"""The trained model on each language's held-out set (written apart from data/): the issue's targets."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nlu.evaluation import LANGUAGES, Scores, evaluate_languages, load_examples

MINIMUM_MESSAGES = {"ar": 100, "fr": 80, "en": 150}


@pytest.fixture(scope="module")
def scores() -> dict[str, Scores]:
    model = Path(os.environ.get("COPROD_MODEL", "models/coprod.tar.gz"))
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make model` (make test does it)")
    return evaluate_languages(model)


@pytest.mark.parametrize("language", LANGUAGES)
def test_enough_heldout_messages_are_unseen_in_training(language: str) -> None:
    unseen = load_examples(language)
    assert len(unseen) >= MINIMUM_MESSAGES[language]
    assert len({e.intent for e in unseen}) == 21


@pytest.mark.parametrize("language", LANGUAGES)
def test_intent_accuracy(scores: dict[str, Scores], language: str) -> None:
    assert scores[language].intent_accuracy >= 0.92, scores[language].errors


@pytest.mark.parametrize("language", LANGUAGES)
def test_macro_f1(scores: dict[str, Scores], language: str) -> None:
    assert scores[language].macro_f1 >= 0.90


@pytest.mark.parametrize("language", LANGUAGES)
def test_category_values(scores: dict[str, Scores], language: str) -> None:
    assert scores[language].category_accuracy >= 0.88
