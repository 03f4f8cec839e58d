"""Which of Coprod's languages a citizen writes in, from a message and their app's language.

Used once, for a citizen whose language is not known yet: afterwards the
stored choice wins, so a message that mixes languages never flips it (the
citizen changes it by asking, see actions/onboarding.py).
"""
from __future__ import annotations

import re

from bot.models import LANGUAGES

ARABIC_LETTERS = re.compile("[\u0621-\u064a\u0671-\u06d3]")
LATIN_LETTERS = re.compile("[A-Za-zÀ-ÿ]")
WORD = re.compile(r"[\w']+")
# Darija in Latin letters ("Arabizi") writes ع ح ق خ ء as 3 7 9 5 2 inside words.
ARABIZI_DIGIT = re.compile(r"(?i)(?:[a-z][2-9]|[2-9][a-z])")

# A few frequent words that tell the languages apart; detection data, not text to show.
DARIJA_WORDS = frozenset(
    "salam slm wesh wach rani raki rak kayen kayn kain bzaf bezzaf bghit nheb n7eb n7ab sahit saha "
    "khoya khouya ta3 taa dyal machi mchi drok daba kifach kifech chkoun chkon labas hamdoullah "
    "hamdoulah inchallah yaatik y3tik barka ana nta nti houma wla kima bach ghedwa ghodwa lyoum "
    "zbel zebla triq dow 7ofra lma walou walo mazal ndir nchark nji ma9dertch".split()
)
FRENCH_WORDS = frozenset(
    "je j' tu il elle nous vous les des une est sont pas oui non merci bonjour bonsoir salut "
    "veux voudrais peux signaler poubelle poubelles ordures lampadaire trottoir quartier mes mon ma "
    "pour avec dans sur svp stp c'est qu'il quoi comment pourquoi aide inscrire inscription "
    "tâche taches tâches désinscrire rue près devant derrière".split()
)
ENGLISH_WORDS = frozenset(
    "the i i'm im you my me is are want would like please thanks thank hello hi hey what how "
    "can do does report reports task tasks join sign help yes no street near behind broken "
    "there's is it".split()
)


def from_app(app_language: str | None) -> str | None:
    """One of our languages from an app or locale code ("ar-DZ", "fr_FR.UTF-8"), else None."""
    code = re.split(r"[-_.]", app_language or "")[0].lower()
    return code if code in LANGUAGES else None


def detect(text: str, app_language: str | None = None) -> str | None:
    """ar, fr or en when the message or the app's language says so clearly; else None."""
    hint = from_app(app_language)
    if not text or text.startswith("/"):
        return hint
    arabic, latin = len(ARABIC_LETTERS.findall(text)), len(LATIN_LETTERS.findall(text))
    if arabic and arabic >= latin:
        return "ar"
    words = [w.lower() for w in WORD.findall(text)]
    darija = sum(w in DARIJA_WORDS for w in words) + len(ARABIZI_DIGIT.findall(text))
    french = sum(w in FRENCH_WORDS for w in words) + len(re.findall("[éèêàçùâôî]", text.lower()))
    english = sum(w in ENGLISH_WORDS for w in words)
    if darija and darija >= french and darija >= english:
        # Darija in Latin letters: Arabic, unless their phone is set to French.
        return "fr" if hint == "fr" else "ar"
    if french > english:
        return "fr"
    if english > french:
        return "en"
    return hint
