"""Citizens: consent, neighbourhood, language and notification preferences."""
from __future__ import annotations

import logging

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import LANGUAGES, Citizen, Neighbourhood, utcnow
from bot.services import languages
from bot.services.errors import ConsentRequired, InvalidInput
from bot.services.text import fold

logger = logging.getLogger(__name__)

NEIGHBOURHOOD_MATCH_THRESHOLD = 80


def find_citizen(session: Session, sender_id: str) -> Citizen | None:
    return session.execute(select(Citizen).where(Citizen.sender_id == sender_id)).scalar_one_or_none()


def require_consented(session: Session, sender_id: str) -> Citizen:
    """The citizen, if they accepted the privacy notice; nothing is stored before that."""
    citizen = find_citizen(session, sender_id)
    if citizen is None or citizen.consented_at is None:
        raise ConsentRequired(sender_id)
    return citizen


WEB_PREFIX = "web-"


def address_of(sender_id: str) -> tuple[str, str | None]:
    """(channel, address) of a sender id: Telegram's are chat ids (numbers), the web
    chat's start with `web-`; anything else came through a terminal or Rasa's REST
    channel and cannot be written to later."""
    if sender_id.lstrip("-").isdigit():
        return "telegram", sender_id
    if sender_id.startswith(WEB_PREFIX):
        return "web", sender_id
    return "terminal", None


def give_consent(session: Session, sender_id: str, language: str = "en") -> Citizen:
    """Record consent, creating the citizen row: the first personal data we keep."""
    citizen = find_citizen(session, sender_id)
    if citizen is None:
        channel, address = address_of(sender_id)
        citizen = Citizen(
            sender_id=sender_id, channel=channel, address=address,
            language=language if language in LANGUAGES else "en",
        )
        session.add(citizen)
    if citizen.consented_at is None:
        citizen.consented_at = utcnow()
    session.flush()
    logger.info("citizen %s consented", citizen.id)
    return citizen


def list_neighbourhoods(session: Session) -> list[Neighbourhood]:
    return list(session.execute(select(Neighbourhood).order_by(Neighbourhood.name)).scalars())


def match_neighbourhood(session: Session, typed: str) -> Neighbourhood | None:
    """Find a neighbourhood from typed text, tolerant of case, accents and small typos."""
    wanted = fold(typed)
    if not wanted:
        return None
    options = {n.id: fold(n.name) for n in list_neighbourhoods(session)}
    for nid, name in options.items():
        if name == wanted or name.replace(" ", "") == wanted.replace(" ", ""):
            return session.get(Neighbourhood, nid)
    best = process.extractOne(wanted, options, scorer=fuzz.WRatio)
    if best is None or best[1] < NEIGHBOURHOOD_MATCH_THRESHOLD:
        return None
    return session.get(Neighbourhood, best[2])


def set_neighbourhood(session: Session, sender_id: str, typed: str) -> Neighbourhood:
    citizen = require_consented(session, sender_id)
    neighbourhood = match_neighbourhood(session, typed)
    if neighbourhood is None:
        raise InvalidInput(typed)
    citizen.neighbourhood_id = neighbourhood.id
    return neighbourhood


def set_language(session: Session, sender_id: str, language: str) -> Citizen:
    if language not in LANGUAGES:
        raise InvalidInput(language)
    citizen = require_consented(session, sender_id)
    citizen.language = language
    return citizen


def set_notifications(session: Session, sender_id: str, enabled: bool) -> Citizen:
    """Opt out of (or back into) broadcasts and reminders."""
    citizen = require_consented(session, sender_id)
    citizen.notifications = enabled
    return citizen


def set_progress_notes(session: Session, sender_id: str, enabled: bool) -> Citizen:
    """Opt out of (or back into) the weekly group progress notes only."""
    citizen = require_consented(session, sender_id)
    citizen.progress_notes = enabled
    return citizen


def mark_blocked(session: Session, sender_id: str) -> bool:
    """The citizen blocked the bot: stop every send to them until they write again."""
    citizen = find_citizen(session, sender_id)
    if citizen is None:
        return False
    citizen.blocked_at = utcnow()
    return True


def mark_reachable(session: Session, sender_id: str) -> None:
    """A blocked citizen who writes again has unblocked the bot."""
    citizen = find_citizen(session, sender_id)
    if citizen is not None and citizen.blocked_at is not None:
        citizen.blocked_at = None


def may_notify(session: Session, sender_id: str) -> bool:
    """Whether broadcasts and reminders may go to this citizen."""
    citizen = find_citizen(session, sender_id)
    return bool(citizen and citizen.consented_at and citizen.notifications and citizen.blocked_at is None)


def language_for(session: Session, sender_id: str, app_language: str | None = None) -> str:
    """The language to address someone in: theirs if stored, else their app's, else English."""
    citizen = find_citizen(session, sender_id)
    if citizen is not None:
        return citizen.language
    return languages.from_app(app_language) or "en"
