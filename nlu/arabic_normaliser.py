"""Arabic spelling variants folded before featurisation, and the citizen's own text put back after.

Residents type the same word many ways: with or without hamza (أ/إ/آ/ا), taa
marbuta as ه, alef maqsura as ي, with harakat or tatweel, digits as ٣ or 3,
letters held down ("شكراااا"). Folding them gives the featurisers one
spelling per word. No maintained library does this offset-preserving fold,
so it is a short table, tested in tests/test_arabic_normaliser.py.

Entities are extracted on the folded text; `RestoreOriginalText` maps their
offsets back so an address reads as the citizen wrote it ("المدرسة", not
"المدرسه").
"""
from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.arabic_text import fold

ORIGINAL_TEXT = "coprod_original_text"
ORIGINS = "coprod_text_origins"

def _fold_span(origins: list[int], start: int, end: int) -> tuple[int, int]:
    """An [start, end) span of the original text, in folded offsets."""
    new_start = next((i for i, o in enumerate(origins) if o >= start), len(origins))
    new_end = sum(1 for o in origins if o < end)
    return new_start, max(new_start, new_end)


def unfold_span(origins: list[int], start: int, end: int) -> tuple[int, int]:
    """A folded [start, end) span, in the original text's offsets."""
    if not origins or start >= end:
        return start, end
    return origins[min(start, len(origins) - 1)], origins[min(end, len(origins)) - 1] + 1


class Untrained(GraphComponent):
    """A component with nothing to train or persist: built from its config alone."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = config or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ArabicNormaliser(Untrained):
    """First in the pipeline: every later component sees folded text."""


    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if not text:
                continue
            folded = fold(text)
            if folded.text == text:
                continue
            for entity in example.get(ENTITIES) or []:
                if ENTITY_ATTRIBUTE_START in entity:
                    entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END] = _fold_span(
                        folded.origins, entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END]
                    )
            example.set(TEXT, folded.text)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            folded = fold(text)
            if folded.text != text:
                message.set(ORIGINAL_TEXT, text)
                message.set(ORIGINS, folded.origins)
                message.set(TEXT, folded.text)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class RestoreOriginalText(Untrained, EntityExtractorMixin):
    """After extraction: the citizen's own text and spans, so addresses read as they were written."""


    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            original = message.get(ORIGINAL_TEXT)
            origins = message.get(ORIGINS)
            if original is None or origins is None:
                continue
            folded_text = message.get(TEXT) or ""
            entities = []
            for entity in message.get(ENTITIES, []):
                entity = dict(entity)
                if ENTITY_ATTRIBUTE_START in entity and ENTITY_ATTRIBUTE_END in entity:
                    start, end = entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END]
                    spelled = folded_text[start:end]
                    entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END] = unfold_span(origins, start, end)
                    if entity.get("value") == spelled:  # not a synonym's canonical value
                        entity["value"] = original[entity[ENTITY_ATTRIBUTE_START]:entity[ENTITY_ATTRIBUTE_END]]
                entities.append(entity)
            message.set(ENTITIES, entities, add_to_output=True)
            message.set(TEXT, original)
        return messages
