"""The REST API under /api/v1: history, status, downloads, launches and subscriptions for the caller.

Every route depends on `api_user` (bearer token, trusted proxy header, or a
session), so a missing or bad token is 401 before anything else happens.
Errors are `{"detail": "..."}`: 403 not allowed, 404 unknown, 422 bad body.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sprint_exports.portal.downloads import DownloadProblem, file_response, run_entries
from sprint_exports.portal.exports_view import ForbiddenExport, UnknownExport, history, run_status
from sprint_exports.portal.identity import api_user
from sprint_exports.portal.launches import LaunchFailed, LaunchRefused, LaunchRequest, launch_exports
from sprint_exports.portal.state import state_of
from sprint_exports.portal.subscribing import subscribe
from sprint_exports.portal_db.subscriptions import delete_subscription, get_subscription, list_subscriptions

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
Caller = Annotated[str, Depends(api_user)]
Format = Literal["csv", "xlsx", "pdf"]


class ExportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    formats: list[Format] = Field(default_factory=lambda: ["csv", "xlsx", "pdf"], min_length=1)
    template: str | None = Field(default=None, max_length=200, description="A template name, or user:<id> for one of yours")


class BulkBody(ExportBody):
    sprint_ids: list[int] = Field(min_length=1, max_length=1000)


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    teams: list[str] | Literal["all"] = "all"
    sprints: Literal["latest_completed", "active", "completed_since_last_run"] = "latest_completed"
    formats: list[Format] = Field(default_factory=lambda: ["pdf"], min_length=1)
    template: str | None = Field(default=None, max_length=200)
    cron: str = Field(max_length=120)
    timezone: str = Field(default="UTC", max_length=64)
    recipients: list[str] | None = Field(default=None, max_length=50)


def _launch(request: Request, caller: str, sprint_ids: list[int], body: ExportBody) -> list[str]:
    try:
        return launch_exports(state_of(request), caller, LaunchRequest(sprint_ids, list(body.formats), body.template))
    except LaunchRefused as refusal:
        raise HTTPException(refusal.status_code, refusal.detail) from None
    except LaunchFailed as failure:
        raise HTTPException(502, str(failure)) from None


@router.get("/")
def list_exports(request: Request, caller: Caller, sprint: int | None = None, team: str | None = None,
                 format: Format | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 page: Annotated[int, Query(ge=1)] = 1) -> dict:
    """The caller's export history, newest first, only sprints they may see, with signed download links."""
    return {"exports": history(state_of(request), caller, sprint=sprint, team=team, format_name=format, limit=limit, page=page)}


@router.post("/sprints/bulk", status_code=202)
def export_bulk(request: Request, caller: Caller, body: BulkBody) -> dict:
    """One run per stretch of neighbouring sprints; 403 naming every refused sprint before anything launches."""
    return {"export_ids": _launch(request, caller, body.sprint_ids, body)}


@router.post("/sprints/{sprint_id}", status_code=202)
def export_sprint(request: Request, caller: Caller, sprint_id: int, body: ExportBody | None = None) -> dict:
    """Export one sprint for the caller."""
    (run_id,) = _launch(request, caller, [sprint_id], body or ExportBody())
    return {"export_id": run_id, "status_url": f"{state_of(request).config.portal_url}/api/v1/exports/{run_id}/status"}


@router.post("/schedule", status_code=201)
def create_schedule(request: Request, caller: Caller, body: ScheduleBody) -> dict:
    try:
        schedule_id = subscribe(state_of(request), caller, **body.model_dump())
    except LaunchRefused as refusal:
        raise HTTPException(refusal.status_code, refusal.detail) from None
    return {"schedule_id": schedule_id}


@router.get("/schedule")
def list_schedules(request: Request, caller: Caller) -> dict:
    return {"schedules": [s.as_dict() for s in list_subscriptions(state_of(request).db, caller)]}


@router.delete("/schedule/{schedule_id}", status_code=204)
def delete_schedule(request: Request, caller: Caller, schedule_id: int) -> Response:
    state = state_of(request)
    found = get_subscription(state.db, schedule_id)
    if found is None:
        raise HTTPException(404, f"No subscription {schedule_id}")
    if found.owner_email != caller and not state.is_admin(caller):
        raise HTTPException(403, f"Subscription {schedule_id} belongs to someone else")
    delete_subscription(state.db, schedule_id)
    return Response(status_code=204)


@router.get("/{export_id}/status")
def export_status(request: Request, caller: Caller, export_id: str) -> dict:
    try:
        return run_status(state_of(request), caller, export_id)
    except UnknownExport as error:
        raise HTTPException(404, str(error)) from None
    except ForbiddenExport as error:
        raise HTTPException(403, str(error)) from None


@router.get("/{export_id}/download")
def download(request: Request, caller: Caller, export_id: str, format: Format | None = None, sprint: int | None = None):
    """The file (streamed after its sha256 check); without `format`, a zip of the run's files."""
    try:
        return file_response(state_of(request), caller, run_entries(state_of(request), caller, export_id, format, sprint), "api")
    except DownloadProblem as problem:
        raise HTTPException(problem.status_code, problem.detail) from None
