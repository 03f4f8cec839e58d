"""The trained model on the held-out set (written apart from data/): the issue's targets."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nlu.evaluation import Scores, evaluate, load_examples


@pytest.fixture(scope="module")
def scores() -> Scores:
    model = Path(os.environ.get("COPROD_MODEL", "models/coprod.tar.gz"))
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make model` (make test does it)")
    return evaluate(model)


def test_enough_heldout_messages_are_unseen_in_training() -> None:
    unseen = load_examples()
    assert len(unseen) >= 150
    assert len({e.intent for e in unseen}) == 21


def test_intent_accuracy(scores: Scores) -> None:
    assert scores.intent_accuracy >= 0.95, scores.errors


def test_macro_f1(scores: Scores) -> None:
    assert scores.macro_f1 >= 0.93


def test_category_values(scores: Scores) -> None:
    assert scores.category_accuracy >= 0.90
