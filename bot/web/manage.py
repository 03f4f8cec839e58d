"""Coordinators' pages: create, edit and close tasks; compose a broadcast, preview it with
the exact number of recipients, send it and watch it go out. The same services as the
Telegram commands do the work; every change goes to the audit log."""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.i18n import LANGUAGE_NAMES, category_label, format_number
from bot.models import CATEGORIES, LANGUAGES, Broadcast, Neighbourhood, Task, utcnow
from bot.services import audit, broadcasts, coordination, tasks
from bot.services.broadcasts import Audience
from bot.services.contributions import image_kind
from bot.services.coordination import Draft
from bot.services.errors import InvalidInput, TaskNotFound
from bot.web.language import N_
from bot.web.security import Staff, check_csrf

if TYPE_CHECKING:
    from bot.web.app import Dashboard

EDIT_ERRORS = {"title": "title", "place": "title", "capacity": "capacity"}  # keys of task.html's messages
FIELD_ERRORS = {
    "title": N_("A title has 3 to 120 characters."),
    "kind": N_("Choose group or collective."),
    "category": N_("Choose a category."),
    "neighbourhood": N_("Choose a neighbourhood."),
    "place": N_("Write a place (2 to 200 characters)."),
    "schedule": N_("Write a day and a time range, like: every Friday 20:00-22:00, or Sat 5 Dec 9:00-12:00."),
    "capacity": N_("Places per session: a number from 1 to 500."),
    "reminders": N_("Choose the reminders."),
}


class PhotoRefused(Exception):
    """An uploaded photo that is not stored; its argument is the message for the coordinator."""


class Manage:
    def __init__(self, dashboard: "Dashboard") -> None:
        self.d = dashboard
        self.tz = ZoneInfo(dashboard.settings.timezone)

    # tasks ------------------------------------------------------------------

    def _areas(self) -> list[Neighbourhood]:
        with self.d.db.session() as session:
            return session.query(Neighbourhood).order_by(Neighbourhood.name).all()

    async def new_task_form(self, request: Request) -> Response:
        return self.d.page(request, "task_form.html", values={}, errors={}, areas=self._areas(), categories=CATEGORIES)

    async def create_task(self, request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        me: Staff = request.state.staff
        values = {name: str(form.get(name, "")).strip() for name in coordination.NEWTASK_FIELDS}
        if values["kind"] == "collective" and not values["schedule"]:
            values["schedule"] = "none"
        draft, errors = Draft("newtask", "title"), {}
        _ = self.d.gettext(request)
        with self.d.db.session() as session:
            for name in coordination.NEWTASK_FIELDS:
                if name == "capacity" and draft.data.get("kind") == "collective":
                    continue
                try:
                    coordination.set_task_field(session, draft, name, values[name], self.tz, utcnow())
                except InvalidInput:
                    errors[name] = _(FIELD_ERRORS[name])
            translations = _translations(form)
            try:
                tasks.clean_translations(translations)
            except InvalidInput:
                errors["translations"] = _(FIELD_ERRORS["title"])
            if not errors:
                task = coordination.create_task_from(session, draft, me.email, self.tz)
                tasks.set_translations(task, translations)
                audit.record(session, me.email, "task.create", "task", task.id, None, {**draft.data, "translations": task.translations})
                key = task.id
        if errors:  # after the session: _areas opens its own, which would wait for this one's lock
            return self.d.page(request, "task_form.html", status_code=400, values={**values, **_flat(translations)},
                               errors=errors, areas=self._areas(), categories=CATEGORIES)
        return RedirectResponse(f"/tasks/{key}", status_code=303)

    @staticmethod
    def _task(session: Any, key: int) -> Task:
        try:
            return tasks.get_task(session, key)
        except TaskNotFound:
            raise HTTPException(404, N_("There is no such task.")) from None

    async def task_page(self, request: Request) -> Response:
        with self.d.db.session() as session:
            try:
                task, lines, unscheduled = coordination.overview(
                    session, request.path_params["id"], utcnow(), limit=12, past=6
                )
            except TaskNotFound:
                raise HTTPException(404, N_("There is no such task.")) from None
            history = audit.history(session, "task", task.id)
        link = f"https://t.me/<your bot>?start=task_{task.id}"
        return self.d.page(request, "task.html", task=task, lines=lines, unscheduled=unscheduled, history=history,
                           link=link, error=request.query_params.get("error"))

    async def edit_task(self, request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        me: Staff = request.state.staff
        key = request.path_params["id"]
        with self.d.db.session() as session:
            task = self._task(session, key)
            before = {"title": task.title, "place": task.place, "description": task.description, "capacity": task.capacity,
                      "translations": task.translations}
            checked = Draft("edit", "title")
            fields = ("title", "place", "capacity") if task.kind == "group" else ("title", "place")
            for name in fields:
                try:
                    coordination.set_task_field(session, checked, name, str(form.get(name, "")), self.tz, utcnow())
                except InvalidInput:
                    return RedirectResponse(f"/tasks/{key}?error={EDIT_ERRORS[name]}", status_code=303)
            if task.kind == "group":
                try:
                    coordination.change_capacity(session, task, checked.data["capacity"], utcnow())
                except InvalidInput:
                    return RedirectResponse(f"/tasks/{key}?error=taken", status_code=303)
            try:
                tasks.set_translations(task, _translations(form))
            except InvalidInput:
                return RedirectResponse(f"/tasks/{key}?error=title", status_code=303)
            task.title, task.place = checked.data["title"], checked.data["place"]
            task.description = str(form.get("description", "")).strip()[:2000]
            after = {"title": task.title, "place": task.place, "description": task.description, "capacity": task.capacity,
                     "translations": task.translations}
            audit.record(session, me.email, "task.edit", "task", task.id, before, after)
        return RedirectResponse(f"/tasks/{key}", status_code=303)

    async def close_task(self, request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        me: Staff = request.state.staff
        key = request.path_params["id"]
        with self.d.db.session() as session:
            task, was_open, _ = coordination.close_and_tell(session, self._task(session, key).id, me.email)
            if was_open:
                audit.record(session, me.email, "task.close", "task", task.id, {"status": "open"}, {"status": "closed"})
        return RedirectResponse(f"/tasks/{key}", status_code=303)

    # broadcasts -------------------------------------------------------------

    def _audiences(self, request: Request) -> list[tuple[str, list[tuple[str, str]]]]:
        open_tasks = self._open_tasks()
        language = self.d.language(request)
        _ = self.d.gettext(request)
        return [
            (_("Everyone"), [("all", _("Everyone who accepts news"))]),
            (_("A neighbourhood"), [(f"neighbourhood:{a.id}", a.name) for a in self._areas()]),
            (_("Interested in a category"), [(f"category:{c}", category_label(c, language)) for c in CATEGORIES]),
            (_("Signed up to a task"), [(f"task:{t.id}", t.title) for t in open_tasks]),
            (_("Members of a linked group"), [(f"group:{t.group_chat_id}", t.title) for t in open_tasks if t.group_chat_id]),
        ]

    def _open_tasks(self) -> list[Task]:
        with self.d.db.session() as session:
            return session.query(Task).filter(Task.status == "open").order_by(Task.title).all()

    async def broadcast_list(self, request: Request) -> Response:
        with self.d.db.session() as session:
            found = session.query(Broadcast).order_by(Broadcast.id.desc()).limit(50).all()
            rows = [(b, broadcasts.progress(session, b.id)) for b in found]
        return self.d.page(request, "broadcasts.html", rows=rows)

    async def new_broadcast(self, request: Request) -> Response:
        return self.d.page(request, "broadcast_form.html", audiences=self._audiences(request),
                           tasks=self._open_tasks(), values={}, error=None)

    async def preview(self, request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        values = {k: str(form.get(k, "")).strip() for k in ("audience", "text", "signup_task", "hold", *TEXT_FIELDS)}
        error, photo = None, None
        upload = form.get("photo")
        _ = self.d.gettext(request)
        try:
            audience = _audience(values["audience"])
            with self.d.db.session() as session:
                audience.check(session)
                count = broadcasts.count(session, audience)
                by_language = broadcasts.count_by_language(session, audience)
                by_channel = broadcasts.count_by_channel(session, audience)
                unreachable = broadcasts.count_unreachable(session, audience)
            if isinstance(upload, UploadFile) and upload.filename:
                photo = await self._store_photo(upload, _)
            limit = broadcasts.MAX_CAPTION if photo else broadcasts.MAX_TEXT
            if not values["text"] or any(len(values[k]) > limit for k in ("text", *TEXT_FIELDS)):
                error = _("Write a message of up to %(limit)s characters.") % {
                    "limit": format_number(limit, self.d.language(request))}
        except InvalidInput:
            error = _("Choose an audience.")
        except PhotoRefused as refused:
            error = str(refused)
        if error:
            return self.d.page(request, "broadcast_form.html", status_code=400, audiences=self._audiences(request),
                               tasks=self._open_tasks(), values=values, error=error)
        task = None
        if _row_id(values["signup_task"]) is not None:
            with self.d.db.session() as session:
                task = session.get(Task, _row_id(values["signup_task"]))
        texts = {language: values[f"text_{language}"] or values["text"] for language in LANGUAGES}
        return self.d.page(request, "broadcast_preview.html", values=values, count=count, photo=photo, task=task,
                           telegram=by_channel.get("telegram", 0), web=by_channel.get("web", 0), unreachable=unreachable,
                           by_language=[(language, LANGUAGE_NAMES[language], by_language.get(language, 0), texts[language])
                                        for language in LANGUAGES])

    async def _store_photo(self, upload: UploadFile, _: Callable[[str], str]) -> str:
        """An uploaded image, checked by size and by its first bytes, kept under MEDIA_DIR."""
        limit = self.d.settings.max_photo_bytes
        content = await upload.read(limit + 1)
        if len(content) > limit:
            raise PhotoRefused(_("That photo is larger than %(megabytes)s MB.") % {"megabytes": limit // 2**20})
        kind = image_kind(content[:12])
        if kind is None:
            raise PhotoRefused(_("That file is not a JPEG, PNG, GIF or WebP image."))
        suffix = kind[1]
        relative = f"broadcasts/{secrets.token_hex(12)}{suffix}"
        target = self.d.settings.media_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        return f"{broadcasts.MEDIA_PREFIX}{relative}"

    async def send(self, request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        me: Staff = request.state.staff
        photo = str(form.get("photo", "")) or None
        if photo and not (photo.startswith(broadcasts.MEDIA_PREFIX + "broadcasts/") and ".." not in photo):
            raise HTTPException(400, N_("That photo is not one this site stored."))
        task = str(form.get("signup_task", ""))
        try:
            with self.d.db.session() as session:
                started = broadcasts.start(
                    session, me.email, _audience(str(form.get("audience", ""))), str(form.get("text", "")),
                    photo=photo, signup_task_id=_row_id(task),
                    hold_quiet_hours=form.get("hold") != "no",
                    texts={language: str(form.get(f"text_{language}", "")) for language in LANGUAGES},
                )
                audit.record(session, me.email, "broadcast.send", "broadcast", started.id, None,
                             {"audience": started.audience, "value": started.audience_value, "total": started.total})
                key = started.id
        except InvalidInput:
            raise HTTPException(400, N_("This broadcast cannot be sent: check the audience and the message.")) from None
        return RedirectResponse(f"/broadcasts/{key}", status_code=303)

    async def broadcast_page(self, request: Request) -> Response:
        with self.d.db.session() as session:
            found = session.get(Broadcast, request.path_params["id"])
            if found is None:
                raise HTTPException(404, N_("There is no such broadcast."))
            counts = broadcasts.progress(session, found.id)
        return self.d.page(request, "broadcast.html", broadcast=found, counts=counts)

    async def cancel(self, request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form.get("csrf"))
        me: Staff = request.state.staff
        key = request.path_params["id"]
        with self.d.db.session() as session:
            if broadcasts.cancel(session, key) is None:
                raise HTTPException(404, N_("There is no such broadcast."))
            audit.record(session, me.email, "broadcast.cancel", "broadcast", key)
        return RedirectResponse(f"/broadcasts/{key}", status_code=303)

    def routes(self) -> list[Route]:
        manage = self.d.staff_only("tasks")
        send = self.d.staff_only("broadcast")
        return [
            Route("/tasks/new", manage(self.new_task_form), methods=["GET"]),
            Route("/tasks/new", manage(self.create_task), methods=["POST"]),
            Route("/tasks/{id:id}", manage(self.task_page)),
            Route("/tasks/{id:id}/edit", manage(self.edit_task), methods=["POST"]),
            Route("/tasks/{id:id}/close", manage(self.close_task), methods=["POST"]),
            Route("/broadcasts", send(self.broadcast_list), methods=["GET"]),
            Route("/broadcasts", send(self.send), methods=["POST"]),
            Route("/broadcasts/new", send(self.new_broadcast)),
            Route("/broadcasts/preview", send(self.preview), methods=["POST"]),
            Route("/broadcasts/{id:id}", send(self.broadcast_page)),
            Route("/broadcasts/{id:id}/cancel", send(self.cancel), methods=["POST"]),
        ]


def _row_id(value: str) -> int | None:
    """A task id from a form; None for anything else ("²".isdigit() is true, but int("²") fails)."""
    return int(value) if value.isdecimal() and len(value) < 10 else None


def _audience(value: str) -> Audience:
    kind, _, rest = value.partition(":")
    return Audience(kind, rest or None)



TEXT_FIELDS = tuple(f"text_{language}" for language in LANGUAGES)
TRANSLATED_FIELDS = ("title", "place", "description")


def _translations(form: Any) -> dict[str, dict[str, str]]:
    """`title_fr`, `place_ar`, … from a task form, as tasks.clean_translations takes them."""
    return {
        language: {name: str(form.get(f"{name}_{language}", "")) for name in TRANSLATED_FIELDS if form.get(f"{name}_{language}")}
        for language in LANGUAGES
    }


def _flat(translations: dict[str, dict[str, str]]) -> dict[str, str]:
    return {f"{name}_{language}": value for language, fields in translations.items() for name, value in fields.items()}
