"""The staff dashboard: review queue, contribution detail and workflow, exports, Open311.

Every page checks the staff member and their role on the server; every form
carries a CSRF token; every change is written to the audit log in the same
transaction. Citizens appear under a pseudonym.
"""
from __future__ import annotations

import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal
from limits import parse
from limits.strategies import MovingWindowRateLimiter
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse,
)
from starlette.routing import Mount, Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from starlette.templating import Jinja2Templates

from bot.config import Settings, require_strong
from bot.counters import counter_storage
from bot.db import Database
from bot.i18n import babel_locale, category_label, format_number
from bot.models import CATEGORIES, CONTRIBUTION_STATUSES, AuditEntry, Citizen, Contribution, Neighbourhood, Photo, Task
from bot.services import audit, occurrences, open_data, participation, review, staff
from bot.services.contributions import inside_media
from bot.services.errors import InvalidInput
from bot.services.notifications import Rules
from bot.services.workflow import parse_reference
from bot.web import language as lang
from bot.web import open311
from bot.web.body_limit import BodyLimit
from bot.web.language import N_
from bot.web.manage import Manage
from bot.web.security import LoginThrottle, Staff, check_csrf, csrf_token, current
from bot.webchat.app import WebChat

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_HOURS = 8
STAFF_EXPORTS = parse("10/minute")  # per staff member
PUBLIC_EXPORTS = parse("10/minute")  # per client address
MAX_FORM = 256 * 1024  # a broadcast or task in three languages, URL-encoded; larger only where photos go
Handler = Callable[[Request], Awaitable[Response]]


class Dashboard:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.rules = Rules.from_settings(settings)
        self.secret_text = settings.dashboard_secret or secrets.token_urlsafe(32)
        self.secret = self.secret_text.encode()
        if not settings.dashboard_secret:
            logger.warning("DASHBOARD_SECRET is not set: sessions last until the dashboard restarts")
        self._counts = counter_storage(settings.redis_url)  # the limiters only keep a weak reference
        self.throttle = LoginThrottle(self._counts)
        self.exports = MovingWindowRateLimiter(self._counts)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        lang.install(self.templates.env, settings.timezone)

    # plumbing ---------------------------------------------------------------

    def language(self, request: Request) -> str:
        """The staff member's language; before log-in, ?lang=, the switcher's cookie, then Accept-Language."""
        who: Staff | None = getattr(request.state, "staff", None)
        if who is not None:
            return who.language
        return (lang.base(request.query_params.get("lang")) or lang.base(request.cookies.get(lang.COOKIE))
                or lang.from_accept_language(request.headers.get("accept-language")))

    def gettext(self, request: Request) -> Callable[[str], str]:
        """The request's translation of a message composed here (flash and error messages)."""
        return lang.gettext(self.language(request))

    def page(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        context.setdefault("me", getattr(request.state, "staff", None))
        context["csrf"] = csrf_token(request)
        context["language"] = language = self.language(request)
        context["dir"] = lang.direction(language)
        context["back"], context["forward"] = ("→", "←") if context["dir"] == "rtl" else ("←", "→")
        kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "lang"])
        context["here"] = (request.url.path + (f"?{kept}" if kept else "")) if request.method == "GET" else ""
        response = self.templates.TemplateResponse(request, name, context, status_code=status_code)
        response.headers["Content-Language"] = language
        chosen = lang.base(request.query_params.get("lang"))
        if chosen and context["me"] is None:
            response.set_cookie(lang.COOKIE, chosen, max_age=365 * 86400, samesite="strict",
                                secure=self.settings.dashboard_https_only)
        return response

    def staff_only(self, permission: str, api: bool = False) -> Callable[[Handler], Handler]:
        """Log-in and role check for a route: the login page (or 401) without a session, 403 without the role."""
        def wrap(handler: Handler) -> Handler:
            async def checked(request: Request) -> Response:
                who = current(request, self.db)
                if who is None:
                    if api:
                        return PlainTextResponse("Log in first.", status_code=401)
                    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
                request.state.staff = who
                if not who.may(permission):
                    raise HTTPException(403, N_("Your role does not allow this."))
                return await handler(request)
            return checked
        return wrap

    async def error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else N_("Something went wrong.")
        headers = (exc.headers or {}) if isinstance(exc, HTTPException) else {}  # a 405's Allow (RFC 9110)
        if request.url.path.startswith("/open311/"):
            return JSONResponse([{"code": status, "description": detail}], status_code=status, headers=headers)
        if getattr(request.state, "staff", None) is None and "session" in request.scope:
            try:
                request.state.staff = current(request, self.db)
            except Exception:  # the database may be what went wrong
                logger.exception("could not look up the staff member of an error page")
        response = self.page(request, "error.html", status_code=status, status=status, detail=self.gettext(request)(detail))
        response.headers.update(headers)
        return response

    # log in -----------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        return self.page(request, "login.html", next=_local(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        email, password = str(form.get("email", ""))[:254], str(form.get("password", ""))[:1024]
        target = _local(str(form.get("next", "")))
        address = request.client.host if request.client else "?"
        _ = self.gettext(request)
        if not self.throttle.allow(email, address):
            with self.db.session() as session:
                audit.record(session, email.strip().lower() or "?", "staff.login_throttled", "staff", None, None, {"address": address})
            return self.page(request, "login.html", status_code=429, next=target,
                             error=_("Too many attempts. Please wait 15 minutes and try again."))
        with self.db.session() as session:
            account = staff.authenticate(session, email, password)
            if account is not None:
                audit.record(session, account.email, "staff.login", "staff", account.id, None, {"address": address})
                key = account.id
            else:
                audit.record(session, email.strip().lower() or "?", "staff.login_failed", "staff", None, None, {"address": address})
        if account is None:
            self.throttle.failed(email, address)
            return self.page(request, "login.html", status_code=401, next=target,
                             error=_("Wrong email or password."))
        request.session.clear()
        request.session.update({"staff_id": key, "csrf": secrets.token_urlsafe(32)})
        return RedirectResponse(target or "/queue", status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def choose_language(self, request: Request) -> Response:
        """The header's switcher: stored on the account, or in a cookie before log-in."""
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        chosen = str(form.get("language", ""))
        target = _local(str(form.get("next", ""))) or "/queue"
        who = current(request, self.db)
        if who is None:
            if chosen not in lang.LANGUAGES:
                raise HTTPException(400, N_("That language is not available."))
            response = RedirectResponse(_local(str(form.get("next", ""))) or "/login", status_code=303)
            response.set_cookie(lang.COOKIE, chosen, max_age=365 * 86400, samesite="strict",
                                secure=self.settings.dashboard_https_only)
            return response
        request.state.staff = who
        try:
            with self.db.session() as session:
                before = staff.set_language(session, who.id, chosen)
                if before != chosen:
                    audit.record(session, who.email, "staff.language", "staff", who.id,
                                 {"language": before}, {"language": chosen})
        except InvalidInput:
            raise HTTPException(400, N_("That language is not available.")) from None
        return RedirectResponse(target, status_code=303)

    # review -----------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        wanted = review.QueueFilter.parse(dict(request.query_params))
        with self.db.session() as session:
            found = review.queue(session, wanted)
            waiting = review.awaiting_review(session)
            areas = session.query(Neighbourhood).order_by(Neighbourhood.name).all()
            task_list = session.query(Task).order_by(Task.title).all()
            names = {a.id: a.name for a in areas}
            rows = [
                {"item": item, "area": names.get(item.neighbourhood_id or 0, ""), "photos": len(item.photos)}
                for item in found.items
            ]
        params = {k: v for k, v in request.query_params.items() if k != "page" and v}
        return self.page(
            request, "queue.html", rows=rows, page=found, waiting=waiting, wanted=wanted, areas=areas,
            tasks=task_list, statuses=CONTRIBUTION_STATUSES, categories=CATEGORIES, params=params,
            query=urlencode(params),
        )

    async def detail(self, request: Request) -> Response:
        key = request.path_params["id"]
        me: Staff = request.state.staff
        with self.db.session() as session:
            item = session.get(Contribution, key)
            if item is None:
                raise HTTPException(404, N_("There is no such contribution."))
            photos = [photo.id for photo in item.photos]
            history = audit.history(session, "contribution", item.id)
            note_list = review.notes(session, item.id)
            task = session.get(Task, item.task_id) if item.task_id else None
            area = session.get(Neighbourhood, item.neighbourhood_id) if item.neighbourhood_id else None
            contact = None
            if me.may("contact") and item.citizen_id is not None:
                citizen = session.get(Citizen, item.citizen_id)
                contact = citizen.sender_id if citizen else None
            context = {
                "item": item, "photos": photos, "history": history, "notes": note_list, "task": task, "area": area,
                "who": review.pseudonym(item.citizen_id, self.secret), "contact": contact,
                "next_statuses": review.NEXT_STATUSES[item.status],
                "original": session.get(Contribution, item.duplicate_of) if item.duplicate_of else None,
            }
        return self.page(request, "detail.html", **context)

    async def change(self, request: Request) -> Response:
        key = request.path_params["id"]
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        me: Staff = request.state.staff
        status = str(form.get("status", ""))
        original = str(form.get("duplicate_of", "")).strip()
        try:
            with self.db.session() as session:
                if session.get(Contribution, key) is None:
                    raise HTTPException(404, N_("There is no such contribution."))
                review.change(
                    session, me.email, key, self.rules, status,
                    public_note=str(form.get("public_note", ""))[:2000],
                    internal_note=str(form.get("internal_note", ""))[:4000],
                    duplicate_of=_reference(original),
                )
        except InvalidInput:
            raise HTTPException(400, N_("That change is not possible (check the status and the original report).")) from None
        return RedirectResponse(f"/contributions/{key}", status_code=303)

    async def moderate(self, request: Request) -> Response:
        key = request.path_params["id"]
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        me: Staff = request.state.staff
        try:
            with self.db.session() as session:
                review.moderate(session, me.email, key, str(form.get("description", ""))[:4096])
        except InvalidInput:
            raise HTTPException(400, N_("Write the corrected text (or leave the original).")) from None
        return RedirectResponse(f"/contributions/{key}", status_code=303)

    async def photo(self, request: Request) -> Response:
        with self.db.session() as session:
            found = session.get(Photo, request.path_params["id"])
            path = inside_media(self.settings.media_dir, found.path) if found else None
            mime = found.mime_type if found else ""
        if path is None or not path.is_file():
            raise HTTPException(404, N_("There is no such photo."))
        return FileResponse(path, media_type=mime, headers={"Cache-Control": "private, no-store"})

    # exports ----------------------------------------------------------------

    async def export(self, request: Request) -> Response:
        me: Staff = request.state.staff
        fmt = _export_format(request)
        if not self.exports.hit(STAFF_EXPORTS, "staff", str(me.id)):
            return _slow_down(request)
        wanted = review.QueueFilter.parse(dict(request.query_params))
        with self.db.session() as session:
            audit.record(session, me.email, "export", "contributions", None, None, {"format": fmt, "filter": request.url.query[:500]})
        rows = open_data.export_rows(self.db.session, wanted, public=False, secret=self.secret, contact=me.may("contact"))
        if fmt == "csv":
            return StreamingResponse(open_data.csv_chunks(rows), media_type="text/csv; charset=utf-8",
                                     headers={"Content-Disposition": 'attachment; filename="contributions.csv"'})
        return StreamingResponse(open_data.geojson_chunks(rows), media_type="application/geo+json")

    async def public_export(self, request: Request) -> Response:
        """Open data for anyone, streamed from the database (a sync iterator: Starlette runs
        it in a worker thread) and rate limited per address."""
        fmt = _export_format(request)
        if not self.exports.hit(PUBLIC_EXPORTS, "public", request.client.host if request.client else "?"):
            return _slow_down(request)
        rows = open_data.export_rows(self.db.session, review.QueueFilter(), public=True)
        if fmt == "csv":
            return StreamingResponse(open_data.csv_chunks(rows), media_type="text/csv; charset=utf-8")
        return StreamingResponse(open_data.geojson_chunks(rows), media_type="application/geo+json",
                                 headers={"Access-Control-Allow-Origin": "*"})

    async def task_list(self, request: Request) -> Response:
        """Tasks with their next sessions: sign-ups and places left (coordinators and admins)."""
        with self.db.session() as session:
            rows = []
            for task in session.query(Task).order_by(Task.status, Task.id.desc()).limit(200):
                following = occurrences.upcoming(session, task.id, limit=3)
                rows.append({"task": task, "sessions": [(o.starts_at, o.taken, o.spots_left) for o in following]})
        return self.page(request, "tasks.html", rows=rows)

    async def participation(self, request: Request) -> Response:
        language = self.language(request)
        _ = lang.gettext(language)

        def shown(bars: list[participation.Bar], labels: Callable[[participation.Bar], str] = lambda b: b.label) -> list[dict[str, Any]]:
            return [{"label": labels(b), "value": b.value, "note": bar_note(b, language)} for b in bars]

        def named(bars: list[participation.Bar]) -> list[dict[str, Any]]:
            return shown(bars, lambda b: category_label(b.label, language))

        def week(bar: participation.Bar) -> str:
            return format_date(bar.week, "d MMM", locale=babel_locale(language)) if bar.week else bar.label

        with self.db.session() as session:
            stars, average = participation.ratings(session)
            inclusion = shown(participation.inclusion(session, self.settings.populations))
            weeks = shown(participation.weekly_participants(session), week)
            charts = [
                (_("Where co-production does not reach yet: participants per 1,000 residents"), inclusion),
                (_("People taking part each week"), weeks),
                (_("Citizens per channel"), shown(participation.citizens_by_channel(session), lambda b: _(lang.LABELS["channel"].get(b.label, b.label)))),
                (_("Contributions per category"), named(participation.contributions_by(session, "category"))),
                (_("Contributions per neighbourhood"), shown(participation.contributions_by(session, "neighbourhood"))),
                (_("Median days to resolution"), named(participation.days_to_resolve(session))),
                (_("Feedback ratings (average %(average)s)") % {
                    "average": format_decimal(average, format="0.0#", locale=language) if average is not None else "—"}, shown(stars)),
            ]
        return self.page(request, "participation.html", charts=charts)

    async def audit_log(self, request: Request) -> Response:
        with self.db.session() as session:
            entries = session.query(AuditEntry).order_by(AuditEntry.id.desc()).limit(200).all()
        return self.page(request, "audit.html", entries=entries)

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/queue", status_code=303)

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    def routes(self) -> list[Any]:
        review_only = self.staff_only("review")
        exports = self.staff_only("export", api=True)
        return [
            Route("/", self.home),
            Route("/healthz", self.health),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/language", self.choose_language, methods=["POST"]),
            Route("/queue", review_only(self.queue)),
            Route("/contributions/{id:id}", review_only(self.detail)),
            Route("/contributions/{id:id}/status", review_only(self.change), methods=["POST"]),
            Route("/contributions/{id:id}/text", review_only(self.moderate), methods=["POST"]),
            Route("/photos/{id:id}", review_only(self.photo)),
            Route("/tasks", self.staff_only("tasks")(self.task_list)),
            *Manage(self).routes(),
            Route("/participation", review_only(self.participation)),
            Route("/audit", self.staff_only("accounts")(self.audit_log)),
            Route("/export/contributions.{format:str}", exports(self.export)),
            Route("/open-data/contributions.{format:str}", self.public_export),
            Mount("/open311/v2", routes=open311.routes(self.db, self.settings)),
        ]


def _local(target: str | None) -> str:
    """Only same-site paths as redirect targets (no open redirect)."""
    return target if target and target.startswith("/") and not target.startswith("//") else ""


def bar_note(bar: participation.Bar, language: str) -> str:
    """The figures behind a participation bar ("3 resolved", "1 of 12,400 residents"), in the page's language."""
    _, ngettext = lang.gettext(language), lang.ngettext(language)
    if bar.resolved is not None:
        return ngettext("%(count)s resolved", "%(count)s resolved", bar.resolved) % {
            "count": format_number(bar.resolved, language)}
    if bar.people is not None and bar.population:
        return _("%(people)s of %(population)s residents") % {
            "people": format_number(bar.people, language), "population": format_number(bar.population, language)}
    if bar.people is not None:
        return ngettext("%(count)s participant, population unknown", "%(count)s participants, population unknown",
                        bar.people) % {"count": format_number(bar.people, language)}
    return ""


def _export_format(request: Request) -> str:
    fmt = str(request.path_params["format"])
    if fmt not in ("csv", "geojson"):
        raise HTTPException(404)
    return fmt


def _slow_down(request: Request) -> Response:
    return PlainTextResponse("Too many exports: please wait a minute.", status_code=429, headers={"Retry-After": "60"})


def _reference(value: str) -> int | None:
    return parse_reference(value) if value else None


def create_app(settings: Settings, db: Database | None = None) -> Starlette:
    dashboard = Dashboard(settings, db or Database(settings.database_url))
    middleware = [
        Middleware(
            SessionMiddleware, secret_key=dashboard.secret_text, session_cookie="coprod_staff",
            max_age=SESSION_HOURS * 3600, same_site="strict", https_only=settings.dashboard_https_only,
        )
    ]
    handlers = {HTTPException: dashboard.error, Exception: dashboard.error}
    chat = WebChat(settings, dashboard.db)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await chat.start()
        try:
            yield
        finally:
            await chat.stop()

    # The client's address comes from X-Forwarded-For only when the proxy sending it is
    # listed in FORWARDED_ALLOW_IPS (login throttling and rate limits count per address).
    middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips))
    photo = settings.max_photo_bytes + MAX_FORM
    middleware.insert(1, Middleware(BodyLimit, default=MAX_FORM, larger={
        "/broadcasts/preview": photo, "/chat/upload": chat.max_upload_bytes + MAX_FORM,  # the chat answers first, in the citizen's language
    }))
    app = Starlette(
        routes=[*chat.routes(), *dashboard.routes()], middleware=middleware,  # type: ignore[arg-type]
        exception_handlers=handlers, lifespan=lifespan,  # type: ignore[arg-type]
    )
    app.state.dashboard = dashboard
    app.state.chat = chat
    return app


def app_from_environment() -> Starlette:
    """The app as uvicorn's worker processes build it (DASHBOARD_WORKERS > 1)."""
    from bot import redaction
    from bot.config import load_settings

    settings = load_settings()
    redaction.install(settings)
    return create_app(settings)


def serve(settings: Settings) -> None:
    """`python -m bot dashboard` (started by `make run`). Behind HTTPS (production) the
    session secret must be strong: it signs every staff session and pseudonym. With
    DASHBOARD_WORKERS > 1 every worker must share it, so it must be set."""
    import uvicorn

    if settings.dashboard_https_only or settings.dashboard_workers > 1:
        require_strong("DASHBOARD_SECRET", settings.dashboard_secret)

    # wsproto: Rasa pins an old `websockets`; the web chat's socket runs on wsproto instead.
    options: dict[str, Any] = dict(host=settings.dashboard_host, port=settings.dashboard_port, log_level="warning",
                                   ws="wsproto", proxy_headers=False)  # the app's own middleware reads them
    if settings.dashboard_workers > 1:
        uvicorn.run("bot.web.app:app_from_environment", factory=True, workers=settings.dashboard_workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
