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


def test_heldout_set_is_big_enough_and_apart_from_training_data() -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    heldout = load_examples()
    training = {m.get("text").lower() for m in load_data("data/nlu").intent_examples}
    assert len(heldout) >= 150
    assert not [e.text for e in heldout if e.text.lower() in training]


def test_intent_accuracy(scores: Scores) -> None:
    assert scores.intent_accuracy >= 0.95, scores.errors


def test_macro_f1(scores: Scores) -> None:
    assert scores.macro_f1 >= 0.93


def test_category_values(scores: Scores) -> None:
    assert scores.category_accuracy >= 0.90
