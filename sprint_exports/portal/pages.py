"""The pages: My exports, Export (with progress), Subscriptions, Templates. Plain HTML forms, no script needed.

Every page asks the same doors as the API: `page_user` for identity, the
access policy for what is listed, `launches.py` for launches, `subscribing.py`
for subscriptions. Pages take the signed-in person from the `SignedIn`
dependency, and every form post from `SignedInPost`, which checks the form's
CSRF token first; without a signed-in person both answer with the sign-in page
(`SignInRequired`, turned into a redirect by `app.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from sprint_exports import settings
from sprint_exports.portal.exports_view import ForbiddenExport, UnknownExport, history, run_status
from sprint_exports.portal.identity import page_user
from sprint_exports.portal.launches import LaunchFailed, LaunchRefused, LaunchRequest, launch_exports
from sprint_exports.portal.rendering import PostedForm, check_csrf, render
from sprint_exports.portal.state import PortalState, state_of
from sprint_exports.portal.subscribing import CRON_PRESETS, subscribe
from sprint_exports.portal_db.subscriptions import delete_subscription, get_subscription, list_subscriptions, set_paused
from sprint_exports.portal_db.tokens import create_token
from sprint_exports.portal_db.user_templates import all_templates, publish_template, save_template, visible_templates
from sprint_exports.report.model import ISSUE_COLUMNS
from sprint_exports.source.readers import list_sprints
from sprint_exports.templates import TemplateError, load_templates
from sprint_exports.templates.model import GROUP_BY_CHOICES

router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """A page or form post without a signed-in person; `app.py` answers it with a redirect to /login."""


def signed_in_user(request: Request) -> str:
    """FastAPI dependency of every page: the signed-in person, or SignInRequired."""
    user = page_user(request)
    if user is None:
        raise SignInRequired()
    return user


@dataclass(frozen=True)
class FormPost:
    user: str
    form: PostedForm


async def signed_in_post(request: Request) -> FormPost:
    """FastAPI dependency of every form post: its CSRF token first (403), then the signed-in person."""
    form = await check_csrf(request)
    return FormPost(await run_in_threadpool(signed_in_user, request), form)  # it reads the database: not on the event loop


SignedIn = Annotated[str, Depends(signed_in_user)]
SignedInPost = Annotated[FormPost, Depends(signed_in_post)]


def _template_choices(state: PortalState, user: str) -> list[tuple[str, str]]:
    named = [(name, name) for name in sorted(load_templates(settings.templates_dir()))]
    return named + [(t.reference, f"{t.template.name} (yours)" if t.owner_email == user else f"{t.template.name} (published)")
                    for t in visible_templates(state.db, user)]


@router.get("/")
def my_exports(request: Request, user: SignedIn):
    state = state_of(request)
    return render(request, "home.html", user=user, exports=history(state, user, limit=100), new_token=None)


@router.post("/tokens")
def make_token(request: Request, post: SignedInPost):
    state, user = state_of(request), post.user
    _, token = create_token(state.db, user, (post.form.field("name") or "portal")[:200], 90)
    return render(request, "home.html", user=user, exports=history(state, user, limit=100), new_token=token)


def _sprints_of(state: PortalState, user: str) -> list[dict]:
    policy = state.policy(user)
    return [row for row in list_sprints(state.tracker).iter_rows(named=True) if policy.decide(user, row["team_id"]).allowed]


@router.get("/export")
def export_form(request: Request, user: SignedIn):
    state = state_of(request)
    return render(request, "export.html", user=user, sprints=_sprints_of(state, user), templates=_template_choices(state, user))


@router.post("/export")
def export_launch(request: Request, post: SignedInPost):
    state, user, form = state_of(request), post.user, post.form
    try:
        sprint_ids = [int(value) for value in form.values("sprint") if value.isdecimal()]
        if not sprint_ids:
            raise LaunchRefused(422, "Pick at least one sprint")
        formats = form.values("format")
        template = form.field("template") or None
        run_ids = launch_exports(state, user, LaunchRequest(sprint_ids, formats, template))
    except (LaunchRefused, LaunchFailed) as problem:
        status = getattr(problem, "status_code", 502)
        return render(request, "export.html", status_code=status, user=user, sprints=_sprints_of(state, user),
                      templates=_template_choices(state, user), error=getattr(problem, "detail", str(problem)))
    return RedirectResponse("/progress?" + "&".join(f"run={run_id}" for run_id in run_ids), status_code=303)


@router.get("/progress")
def progress(request: Request, user: SignedIn):
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
def subscriptions_page(request: Request, user: SignedIn):
    return _subscriptions(request, user)


def _subscriptions(request: Request, user: str, error: str | None = None, status_code: int = 200):
    state = state_of(request)
    admin = state.is_admin(user)
    teams = sorted(set(list_sprints(state.tracker)["team_name"].to_list()))
    return render(request, "subscriptions.html", status_code=status_code, user=user, error=error,
                  subscriptions=list_subscriptions(state.db, None if admin else user), presets=CRON_PRESETS,
                  teams=teams, templates=_template_choices(state, user))


@router.post("/subscriptions")
def subscriptions_create(request: Request, post: SignedInPost):
    form = post.form
    preset = form.field("preset") or "custom"
    cron = CRON_PRESETS[preset][1] if preset in CRON_PRESETS else form.field("cron")
    recipients = [r.strip() for r in form.field("recipients").split(",") if r.strip()] or None
    try:
        subscribe(state_of(request), post.user, name=form.field("name"), teams=form.values("team") or "all",
                  sprints=form.field("sprints") or "latest_completed", formats=form.values("format"),
                  template=form.field("template") or None, cron=cron,
                  timezone=form.field("timezone") or "UTC", recipients=recipients)
    except LaunchRefused as refusal:
        return _subscriptions(request, post.user, error=refusal.detail, status_code=refusal.status_code)
    return RedirectResponse("/subscriptions", status_code=303)


@router.post("/subscriptions/{subscription_id}/{action}")
def subscriptions_change(request: Request, post: SignedInPost, subscription_id: int, action: str):
    state, user = state_of(request), post.user
    found = get_subscription(state.db, subscription_id)
    if found is None or (found.owner_email != user and not state.is_admin(user)) or action not in ("pause", "resume", "delete"):
        return render(request, "refused.html", status_code=404, user=user, reason=f"No subscription {subscription_id} of yours")
    if action == "delete":
        delete_subscription(state.db, subscription_id)
    else:
        set_paused(state.db, subscription_id, action == "pause")
    return RedirectResponse("/subscriptions", status_code=303)


@router.get("/templates")
def templates_page(request: Request, user: SignedIn):
    return _templates(request, user)


def _templates(request: Request, user: str, error: str | None = None, status_code: int = 200):
    """Admins see everyone's templates, to publish them; others their own and the published ones."""
    state = state_of(request)
    admin = state.is_admin(user)
    return render(request, "templates.html", status_code=status_code, user=user, error=error, columns=list(ISSUE_COLUMNS),
                  group_by=GROUP_BY_CHOICES, admin=admin,
                  templates=all_templates(state.db) if admin else visible_templates(state.db, user))


@router.post("/templates")
def templates_create(request: Request, post: SignedInPost):
    form = post.form
    order = [c.strip() for c in form.field("column_order").split(",") if c.strip()]
    chosen = form.values("column")
    columns = [c for c in order if c in chosen] + [c for c in chosen if c not in order]
    sections = form.values("section")
    document = {
        "name": form.field("name"), "title": form.field("title") or "Sprint report",
        "fields": {section: section in sections for section in ("basic_info", "team_info", "issues", "metrics")}
        | {"issue_columns": columns, "custom_fields": form.values("custom_field")},
        "format_options": {"include_charts": form.field("include_charts") == "on",
                           "group_by": form.field("group_by") or "none", "sort_by": form.field("sort_by") or "key"},
    }
    try:
        save_template(state_of(request).db, post.user, document)
    except TemplateError as error:
        return _templates(request, post.user, error=str(error), status_code=422)
    return RedirectResponse("/templates", status_code=303)


@router.post("/templates/{template_id}/{action}")
def templates_publish(request: Request, post: SignedInPost, template_id: int, action: str):
    """An admin offers a template to everyone (publish) or stops offering it (unpublish)."""
    state, user = state_of(request), post.user
    if action not in ("publish", "unpublish"):
        return render(request, "refused.html", status_code=404, user=user, reason=f"No such action {action!r}: use publish or unpublish")
    if not state.is_admin(user):
        return render(request, "refused.html", status_code=403, user=user,
                      reason=f"Only admins may {action} a template for everyone; {user} is not an admin")
    if not publish_template(state.db, template_id, action == "publish"):
        return render(request, "refused.html", status_code=404, user=user, reason=f"No template {template_id}")
    return RedirectResponse("/templates", status_code=303)
