"""A place named in a message, kept whole ("behind the school", not "behind").

The NLU marks where an address starts but sometimes stops after the
preposition. From that start, the place runs over prepositions and articles
to the landmark, then over names that belong to it ("Rue Larbi Ben M'hidi",
"of the market", "تاع تيجديت"), and stops at the first other word.
"""
from __future__ import annotations

import re

from nlu.arabic_text import normalise

MAX_WORDS = 12
TOKEN = re.compile(r"[^\s,.;:!?،؛؟()\"]+")
# Words that lead to a landmark in English, French, Arabic and Darija (folded spelling).
LEADING = frozenset(
    """behind near nearby next to in front of the at on opposite outside inside by between across from
    corner end top bottom side along
    derriere derrière devant pres près de du des la le les l' au aux en face a à cote côté coin entre
    sur dans a cote
    قدام ورا وراء قرب جنب امام خلف في عند بجانب بين مقابل حدا حذا على فوق تحت بحذا
    9odam 9dam qodam 9bel wra wara 9rib qrib 9reb janb jenb f fi 3and 3nd 3end 7da hda bin l el""".split()
)
# Words that carry a place on to its next part ("of the market", "تاع تيجديت", "ta3 l'école").
JOINING = frozenset("of on in at de du des d' sur ta3 taa t3 dyal تاع متاع تع ديال نتاع".split())


def _folded(word: str) -> str:
    return normalise(word.lower()).strip("'’")


def _leads(word: str) -> bool:
    folded = _folded(word)
    return folded in LEADING or (folded.endswith("'") and folded[:-1] in LEADING) or folded.startswith(("l'", "d'"))


def _name_like(word: str) -> bool:
    return word[:1].isupper() or word[:1].isdigit() or word.lower() in ("ben", "bin", "el", "al", "ibn")


def whole_place(text: str, start: int, end: int) -> str:
    """The place that begins at `start`, at least as long as [start, end)."""
    tokens = [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text, start)]
    # Stop at the first punctuation mark after the place: a clause boundary.
    boundary = re.search(r"[,.;:!?،؛؟\n]", text[start:])
    limit = start + boundary.start() if boundary else len(text)
    tokens = [t for t in tokens if t[0] < limit][:MAX_WORDS]
    stop = end
    i = 0
    while i < len(tokens):
        while i < len(tokens) and _leads(tokens[i][2]) and not _folded(tokens[i][2]).startswith(("l'", "d'")):
            i += 1
        if i == len(tokens):
            break
        stop = max(stop, tokens[i][1])  # the landmark itself
        i += 1
        while i < len(tokens) and _name_like(tokens[i][2]):
            stop = max(stop, tokens[i][1])
            i += 1
        if i + 1 < len(tokens) and _folded(tokens[i][2]) in JOINING:
            i += 1
            continue
        break
    return text[start:max(stop, end)].strip()
