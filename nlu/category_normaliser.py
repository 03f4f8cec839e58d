"""Settle each message on at most one canonical `category` entity.

DIET sometimes tags a fragment ("dark", "pipe on") whose text no synonym
maps, or misses an everyday word it never saw ("hedge", "pavement"). This
component runs after EntitySynonymMapper: it keeps canonical values, counts
lexicon words in the message (outside any `address` entity, so "Station Road"
does not make a report about roads) and keeps the best-supported category.
A contribution has one category, so one entity comes out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.arabic_normaliser import Untrained
from nlu.arabic_text import ARABIC_LETTER, normalise

LEXICON = Path(__file__).with_name("lexicon")
CATEGORY = "category"
WEAK_WORDS = {"road", "roads", "light", "lit", "dark", "skip", "planting"}
# Arabic glues conjunctions, prepositions and the article to the word ("والزبل", "بالضو")
# and endings after it ("حفرات", "الحديقه"): the lexicon holds bare words.
ARABIC_PREFIX = r"(?:[وف]?(?:[بكل]|لل)?(?:ال)?)"
ARABIC_SUFFIX = r"(?:ات|ين|ون|ه|ها|هم|ي)?"
LATIN_SUFFIX = r"(?:s|es|x)?"


@dataclass(frozen=True)
class Hit:
    category: str
    start: int
    end: int
    weight: float


def load_lexicon(folder: Path) -> dict[str, list[str]]:
    """Every language's word list (`lexicon/<language>.yml`), merged per category."""
    merged: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.yml")):
        for category, words in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            merged.setdefault(category, []).extend(str(word) for word in words or [])
    return merged


def compile_lexicon(lexicon: dict[str, list[str]]) -> list[tuple[str, re.Pattern[str], float]]:
    """Patterns over folded text (see nlu.arabic_normaliser), so spelling variants match too."""
    patterns = []
    for category, words in lexicon.items():
        for word in dict.fromkeys(normalise(w.lower()) for w in words):
            body = r"[\s-]*".join(re.escape(part) for part in re.split(r"[\s-]+", word))
            weight = 0.5 if word in WEAK_WORDS else 1.0
            if ARABIC_LETTER.match(word):
                pattern = rf"(?<!\w){ARABIC_PREFIX}{body}{ARABIC_SUFFIX}(?!\w)"
            else:
                pattern = rf"(?<!\w){body}{LATIN_SUFFIX}(?!\w)"
            patterns.append((category, re.compile(pattern), weight))
    return patterns


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class CategoryNormaliser(Untrained, EntityExtractorMixin):
    """One canonical category per message, from DIET's guess and a word list."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"lexicon": str(LEXICON)}

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__({**self.get_default_config(), **(config or {})})
        raw = load_lexicon(Path(self.config["lexicon"]))
        self.categories = set(raw)
        self.patterns = compile_lexicon(raw)


    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def hits(self, text: str, blocked: list[tuple[int, int]]) -> list[Hit]:
        lowered = normalise(text.lower())
        found = []
        for category, pattern, weight in self.patterns:
            for match in pattern.finditer(lowered):
                if any(start <= match.start() < end for start, end in blocked):
                    continue
                found.append(Hit(category, match.start(), match.end(), weight))
        return found

    def choose(self, text: str, entities: list[dict[str, Any]]) -> dict[str, Any] | None:
        blocked = [(e["start"], e["end"]) for e in entities if e.get("entity") == "address" and "start" in e]
        evidence = self.hits(text, blocked)
        for entity in entities:
            if entity.get("entity") == CATEGORY and entity.get("value") in self.categories:
                evidence.append(Hit(entity["value"], entity.get("start", 0), entity.get("end", 0), 1.0))
        if not evidence:
            return None
        score: dict[str, float] = {}
        first: dict[str, Hit] = {}
        for hit in evidence:
            score[hit.category] = score.get(hit.category, 0.0) + hit.weight
            if hit.category not in first or hit.start < first[hit.category].start:
                first[hit.category] = hit
        best = max(score, key=lambda c: (score[c], -first[c].start))
        hit = first[best]
        return {
            "entity": CATEGORY,
            "value": best,
            "start": hit.start,
            "end": hit.end,
            "confidence_entity": round(score[best] / sum(score.values()), 3),
            "extractor": self.__class__.__name__,
        }

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = list(message.get(ENTITIES, []))
            chosen = self.choose(text, entities)
            kept = [e for e in entities if e.get("entity") != CATEGORY]
            if chosen is not None:
                kept.append(chosen)
            message.set(ENTITIES, kept, add_to_output=True)
        return messages
