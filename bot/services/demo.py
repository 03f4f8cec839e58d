"""A small demo city so a newcomer sees something at once."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Contribution, Neighbourhood, Task, utcnow
from bot.services.citizens import give_consent
from bot.services.contributions import ContributionInput, create_contribution
from bot.services.tasks import create_task

DEMO_POPULATIONS = {
    "Old Town": 8200,
    "Riverside": 12400,
    "Hillcrest": 6900,
    "Station Quarter": 10100,
    "Market District": 7600,
    "Belle-Vue": 5300,
}


def ensure_neighbourhoods(session: Session, names: list[str]) -> dict[str, Neighbourhood]:
    existing = {n.name: n for n in session.execute(select(Neighbourhood)).scalars()}
    for name in names:
        if name not in existing:
            existing[name] = Neighbourhood(name=name, population=DEMO_POPULATIONS.get(name))
            session.add(existing[name])
    session.flush()
    return existing


def _next_weekday(now: datetime, weekday: int, hour: int) -> datetime:
    days = (weekday - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def seed_demo(session: Session, neighbourhood_names: list[str], now: datetime | None = None) -> bool:
    """Load the demo tasks into an empty database; returns False if tasks already exist."""
    now = now or utcnow()
    areas = ensure_neighbourhoods(session, neighbourhood_names)
    if session.execute(select(func.count(Task.id))).scalar_one():
        return False

    def area(name: str) -> int | None:
        return areas[name].id if name in areas else None

    friday = _next_weekday(now, 4, 20)
    saturday = _next_weekday(now, 5, 9)
    create_task(
        session,
        title="Night safety patrol",
        kind="group",
        category="safety",
        description="Walk the riverside paths in pairs and note anything unsafe.",
        place="Meet at the Riverside footbridge",
        neighbourhood_id=area("Riverside"),
        starts_at=friday,
        ends_at=friday + timedelta(hours=2),
        capacity=6,
        translations={
            "fr": {"title": "Patrouille de sécurité de nuit", "place": "Rendez-vous à la passerelle de Riverside",
                   "description": "Marcher à deux le long des chemins de la rivière et noter ce qui n'est pas sûr."},
            "ar": {"title": "دورية أمن ليلية", "place": "نلتقي عند الجسر الصغير في ريفرسايد",
                   "description": "نمشي مثنى مثنى على طرق ضفة الوادي ونسجل كل ما هو غير آمن."},
        },
    )
    create_task(
        session,
        title="Saturday clean-up in Hillcrest Park",
        kind="group",
        category="green_spaces",
        description="Pick litter and clear paths. Gloves and bags provided.",
        place="Hillcrest Park, main gate",
        neighbourhood_id=area("Hillcrest"),
        starts_at=saturday,
        ends_at=saturday + timedelta(hours=3),
        capacity=15,
        translations={
            "fr": {"title": "Nettoyage du samedi au parc de Hillcrest", "place": "Parc de Hillcrest, entrée principale",
                   "description": "Ramasser les déchets et dégager les allées. Gants et sacs fournis."},
            "ar": {"title": "تنظيف يوم السبت في حديقة هيلكرست", "place": "حديقة هيلكرست، الباب الرئيسي",
                   "description": "نجمع النفايات وننظف الممرات. القفازات والأكياس متوفرة."},
        },
    )
    tuesday = _next_weekday(now, 1, 18)
    create_task(
        session,
        title="Evening street watch in Old Town",
        kind="group",
        category="safety",
        description="A friendly walk round the old streets, twice a week. Note broken lights and damage.",
        place="Old Town fountain",
        neighbourhood_id=area("Old Town"),
        starts_at=tuesday,
        ends_at=tuesday + timedelta(hours=1, minutes=30),
        capacity=8,
        recurrence="FREQ=WEEKLY;BYDAY=TU,TH",
        translations={
            "fr": {"title": "Ronde du soir dans la vieille ville", "place": "Fontaine de la vieille ville",
                   "description": "Une marche conviviale dans les vieilles rues, deux fois par semaine. "
                                  "Noter les lampadaires cassés et les dégâts."},
            "ar": {"title": "جولة مسائية في المدينة القديمة", "place": "نافورة المدينة القديمة",
                   "description": "جولة ودية في الأزقة القديمة مرتين في الأسبوع، نسجل الأضواء المعطلة والأضرار."},
        },
    )
    create_task(
        session,
        title="Report illegal dumping",
        kind="collective",
        category="waste",
        description="Seen rubbish dumped in the street? Send a photo and the place.",
        place="Anywhere in town",
        translations={
            "fr": {"title": "Signaler les dépôts sauvages", "place": "Partout en ville",
                   "description": "Vous avez vu des ordures jetées dans la rue ? Envoyez une photo et le lieu."},
            "ar": {"title": "التبليغ عن رمي النفايات العشوائي", "place": "في كل أنحاء المدينة",
                   "description": "رأيت نفايات مرمية في الشارع؟ أرسل صورة والمكان."},
        },
    )
    create_task(
        session,
        title="Map broken street lights",
        kind="collective",
        category="lighting",
        description="Tell us which street lights are out so crews can fix them faster.",
        place="Anywhere in town",
        translations={
            "fr": {"title": "Cartographier les lampadaires en panne", "place": "Partout en ville",
                   "description": "Dites-nous quels lampadaires sont éteints pour que les équipes les réparent plus vite."},
            "ar": {"title": "خريطة أعمدة الإنارة المعطلة", "place": "في كل أنحاء المدينة",
                   "description": "أخبرنا بأعمدة الإنارة المطفأة لكي تصلحها الفرق بسرعة أكبر."},
        },
    )
    return True


# A few reports as residents of Mostaganem write them, so the dashboard is not empty on day one.
DEMO_REPORTS = [
    ("demo-ar-1", "ar", "waste", "كاين الزبل بزاف قدام الليسي، ريحة ماتتحملش", "قدام الليسي", (35.9311, 0.0892)),
    ("demo-ar-2", "ar", "lighting", "عمود الإنارة مطفأ منذ أسبوع في شارع بن عنتر", "شارع بن عنتر", (35.9335, 0.0901)),
    ("demo-ar-3", "ar", "roads", "kayen 7ofra kbira f triq ta3 tigditt, dangereuse bzaf", "triq tigditt", None),
    ("demo-fr-1", "fr", "water", "Fuite d'eau devant la mosquée, ça coule depuis hier soir", "devant la mosquée", (35.9302, 0.0875)),
    ("demo-fr-2", "fr", "green_spaces", "Les arbres du jardin public ne sont plus arrosés", "jardin public", None),
    ("demo-en-1", "en", "safety", "Broken glass and a dark alley behind the market, feels unsafe at night", "behind the market", None),
]


def seed_demo_reports(session: Session, media_dir: Path, max_photo_bytes: int) -> int:
    """Demo citizens (consented, one per report) and their reports; none if any report exists."""
    if session.execute(select(func.count(Contribution.id))).scalar_one():
        return 0
    for sender, language, category, text, place, point in DEMO_REPORTS:
        give_consent(session, sender, language)
        latitude, longitude = point or (None, None)
        create_contribution(
            session, sender,
            ContributionInput(category=category, description=text, location_text=place, latitude=latitude, longitude=longitude),
            media_dir, max_photo_bytes,
        )
    return len(DEMO_REPORTS)
