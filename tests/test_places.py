"""Places named in reports are kept whole in all three languages."""
from __future__ import annotations

import pytest

from bot.services.places import whole_place


@pytest.mark.parametrize(
    ("text", "cut", "place"),
    [
        ("the light behind the school is out", "behind", "behind the school"),
        ("rubbish next to the bakery on Rue Larbi Ben M'hidi, again", "next to", "next to the bakery on Rue Larbi Ben M'hidi"),
        ("pothole in front of 12 Mill Lane", "in front", "in front of 12 Mill Lane"),
        ("dumping at the corner of King St and 3rd Ave", "at the corner", "at the corner of King St"),
        ("broken bench opposite the mosque. please fix", "opposite", "opposite the mosque"),
        ("le lampadaire derrière l'école Ibn Badis ne marche plus", "derrière", "derrière l'école Ibn Badis"),
        ("des ordures devant la mosquée de Tigditt depuis lundi", "devant la", "devant la mosquée de Tigditt"),
        ("fuite d'eau en face du marché", "en face", "en face du marché"),
        ("الضو طافي قدام المدرسة من البارح", "قدام", "قدام المدرسة"),
        ("كاين الزبل ورا الجامع تاع تيجديت", "ورا", "ورا الجامع تاع تيجديت"),
        ("حفرة كبيرة أمام السوق", "أمام", "أمام السوق"),
        ("kayen zbel bzaf 9odam l'école", "9odam", "9odam l'école"),
        ("dow tafi f zen9a ta3 salamandre", "f zen9a", "f zen9a ta3 salamandre"),
        ("pothole on Station Road", "on Station Road", "on Station Road"),
    ],
)
def test_whole_place(text: str, cut: str, place: str) -> None:
    start = text.index(cut)
    assert whole_place(text, start, start + len(cut)) == place


def test_never_shorter_than_what_the_model_found() -> None:
    text = "near the old well of the square"
    assert whole_place(text, 0, len(text)) == text
