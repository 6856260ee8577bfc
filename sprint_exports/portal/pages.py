"""The pages: My exports, Export (with progress), Subscriptions, Templates. Plain HTML forms, no script needed.

Every page asks the same doors as the API: `page_user` for identity, the
access policy for what is listed, `launches.py` for launches, `subscribing.py`
for subscriptions. Every form post passes `check_csrf` first.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from sprint_exports.portal.exports_view import ForbiddenExport, UnknownExport, history, run_status
from sprint_exports.portal.identity import page_user
from sprint_exports.portal.launches import LaunchFailed, LaunchRefused, LaunchRequest, launch_exports
from sprint_exports.portal.rendering import check_csrf, render
from sprint_exports.portal.state import PortalState, state_of
from sprint_exports.portal.subscribing import CRON_PRESETS, subscribe
from sprint_exports.portal_db.subscriptions import delete_subscription, get_subscription, list_subscriptions, set_paused
from sprint_exports.portal_db.tokens import create_token
from sprint_exports.portal_db.user_templates import save_template, visible_templates
from sprint_exports.report.model import ISSUE_COLUMNS
from sprint_exports.source.readers import list_sprints
from sprint_exports.templates import TemplateError, load_templates
from sprint_exports.templates.model import GROUP_BY_CHOICES
from sprint_exports import settings

router = APIRouter(include_in_schema=False)
SIGN_IN = RedirectResponse("/login", status_code=303)


def _is_admin(state: PortalState, user: str) -> bool:
    person = state.policy(user).person(user)
    return person is not None and person.role == "admin"


def _template_choices(state: PortalState, user: str) -> list[tuple[str, str]]:
    named = [(name, name) for name in sorted(load_templates(settings.templates_dir()))]
    return named + [(t.reference, f"{t.template.name} (yours)" if t.owner_email == user else f"{t.template.name} (published)")
                    for t in visible_templates(state.db, user)]


@router.get("/")
def my_exports(request: Request):
    user = page_user(request)
    if user is None:
        return SIGN_IN
    state = state_of(request)
    return render(request, "home.html", user=user, exports=history(state, user, limit=100), new_token=None)


@router.post("/tokens")
async def make_token(request: Request):
    form = await check_csrf(request)
    user = page_user(request)
    if user is None:
        return SIGN_IN
    state = state_of(request)
    _, token = create_token(state.db, user, str(form.get("name") or "portal")[:200], 90)
    return render(request, "home.html", user=user, exports=history(state, user, limit=100), new_token=token)


def _sprints_of(state: PortalState, user: str) -> list[dict]:
    policy = state.policy(user)
    return [row for row in list_sprints(state.tracker).iter_rows(named=True) if policy.decide(user, row["team_id"]).allowed]


@router.get("/export")
def export_form(request: Request):
    user = page_user(request)
    if user is None:
        return SIGN_IN
    state = state_of(request)
    return render(request, "export.html", user=user, sprints=_sprints_of(state, user), templates=_template_choices(state, user))


@router.post("/export")
async def export_launch(request: Request):
    form = await check_csrf(request)
    user = page_user(request)
    if user is None:
        return SIGN_IN
    lists = form["_lists"]
    state = state_of(request)
    try:
        sprint_ids = [int(value) for value in lists.getlist("sprint") if str(value).isdecimal()]
        if not sprint_ids:
            raise LaunchRefused(422, "Pick at least one sprint")
        formats = [str(value) for value in lists.getlist("format")]
        template = str(form.get("template") or "") or None
        run_ids = launch_exports(state, user, LaunchRequest(sprint_ids, formats, template))
    except (LaunchRefused, LaunchFailed) as problem:
        status = getattr(problem, "status_code", 502)
        return render(request, "export.html", status_code=status, user=user, sprints=_sprints_of(state, user),
                      templates=_template_choices(state, user), error=getattr(problem, "detail", str(problem)))
    return RedirectResponse("/progress?" + "&".join(f"run={run_id}" for run_id in run_ids), status_code=303)


@router.get("/progress")
def progress(request: Request):
    user = page_user(request)
    if user is None:
        return SIGN_IN
    state = state_of(request)
    statuses = []
    for run_id in request.query_params.getlist("run")[:50]:
        try:
            statuses.append(run_status(state, user, run_id))
        except (UnknownExport, ForbiddenExport) as problem:
            statuses.append({"export_id": run_id, "status": "REFUSED", "error": str(problem), "sprints_done": 0, "sprints_total": 0, "files": []})
    finished = all(s["status"] in ("SUCCESS", "FAILURE", "CANCELED", "REFUSED") for s in statuses)
    response = render(request, "progress.html", user=user, statuses=statuses, finished=finished)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/subscriptions")
def subscriptions_page(request: Request, error: str | None = None, status_code: int = 200):
    user = page_user(request)
    if user is None:
        return SIGN_IN
    state = state_of(request)
    admin = _is_admin(state, user)
    teams = sorted(set(list_sprints(state.tracker)["team_name"].to_list()))
    return render(request, "subscriptions.html", status_code=status_code, user=user, error=error,
                  subscriptions=list_subscriptions(state.db, None if admin else user), presets=CRON_PRESETS,
                  teams=teams, templates=_template_choices(state, user))


@router.post("/subscriptions")
async def subscriptions_create(request: Request):
    form = await check_csrf(request)
    user = page_user(request)
    if user is None:
        return SIGN_IN
    lists = form["_lists"]
    preset = str(form.get("preset") or "custom")
    cron = CRON_PRESETS[preset][1] if preset in CRON_PRESETS else str(form.get("cron") or "")
    teams = [str(t) for t in lists.getlist("team")]
    recipients = [r.strip() for r in str(form.get("recipients") or "").split(",") if r.strip()] or None
    try:
        subscribe(state_of(request), user, name=str(form.get("name") or ""), teams=teams or "all",
                  sprints=str(form.get("sprints") or "latest_completed"), formats=[str(f) for f in lists.getlist("format")],
                  template=str(form.get("template") or "") or None, cron=cron,
                  timezone=str(form.get("timezone") or "UTC"), recipients=recipients)
    except LaunchRefused as refusal:
        return subscriptions_page(request, error=refusal.detail, status_code=refusal.status_code)
    return RedirectResponse("/subscriptions", status_code=303)


@router.post("/subscriptions/{subscription_id}/{action}")
async def subscriptions_change(request: Request, subscription_id: int, action: str):
    await check_csrf(request)
    user = page_user(request)
    if user is None:
        return SIGN_IN
    state = state_of(request)
    found = get_subscription(state.db, subscription_id)
    if found is None or (found.owner_email != user and not _is_admin(state, user)) or action not in ("pause", "resume", "delete"):
        return render(request, "refused.html", status_code=404, user=user, reason=f"No subscription {subscription_id} of yours")
    if action == "delete":
        delete_subscription(state.db, subscription_id)
    else:
        set_paused(state.db, subscription_id, action == "pause")
    return RedirectResponse("/subscriptions", status_code=303)


@router.get("/templates")
def templates_page(request: Request, error: str | None = None, status_code: int = 200):
    user = page_user(request)
    if user is None:
        return SIGN_IN
    state = state_of(request)
    return render(request, "templates.html", status_code=status_code, user=user, error=error, columns=list(ISSUE_COLUMNS),
                  group_by=GROUP_BY_CHOICES, templates=visible_templates(state.db, user))


@router.post("/templates")
async def templates_create(request: Request):
    form = await check_csrf(request)
    user = page_user(request)
    if user is None:
        return SIGN_IN
    lists = form["_lists"]
    order = [c.strip() for c in str(form.get("column_order") or "").split(",") if c.strip()]
    chosen = [str(c) for c in lists.getlist("column")]
    columns = [c for c in order if c in chosen] + [c for c in chosen if c not in order]
    document = {
        "name": str(form.get("name") or ""), "title": str(form.get("title") or "Sprint report"),
        "fields": {section: section in lists.getlist("section") for section in ("basic_info", "team_info", "issues", "metrics")}
        | {"issue_columns": columns, "custom_fields": [str(c) for c in lists.getlist("custom_field")]},
        "format_options": {"include_charts": form.get("include_charts") == "on",
                           "group_by": str(form.get("group_by") or "none"), "sort_by": str(form.get("sort_by") or "key")},
    }
    try:
        save_template(state_of(request).db, user, document)
    except TemplateError as error:
        return templates_page(request, error=str(error), status_code=422)
    return RedirectResponse("/templates", status_code=303)
