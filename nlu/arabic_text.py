"""The Arabic fold itself, free of Rasa so services can use it (see nlu.arabic_normaliser)."""
from __future__ import annotations

import re
from dataclasses import dataclass

FOLD = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
    "ؤ": "و", "ئ": "ي", "ى": "ي", "ی": "ي",
    "ة": "ه", "ک": "ك",
    "؟": "?", "،": ",", "؛": ";",
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Eastern Arabic-Indic digits
}
# Harakat, superscript alef, Quranic marks and tatweel carry no meaning for us.
DROP = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
ARABIC_LETTER = re.compile("[\u0621-\u064a]")


@dataclass(frozen=True)
class Folded:
    text: str
    origins: list[int]  # for each folded character, its index in the original


def fold(text: str) -> Folded:
    """Fold spelling variants; `origins` maps each output character back to the input."""
    out: list[str] = []
    origins: list[int] = []
    run_char, run_length = "", 0
    for index, char in enumerate(text):
        if DROP.match(char):
            continue
        char = FOLD.get(char, char)
        run_length = run_length + 1 if char == run_char else 1
        run_char = char
        # A letter held down ("شكراااا", "merciiii"): one of it in Arabic script, two in Latin.
        if run_length >= 3 and char.isalpha():
            if run_length == 3 and ARABIC_LETTER.match(char):
                out.pop()
                origins.pop()
            continue
        out.append(char)
        origins.append(index)
    return Folded("".join(out), origins)


def normalise(text: str) -> str:
    return fold(text).text
