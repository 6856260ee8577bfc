"""Launching exports through Dagster's GraphQL API, for an authenticated person.

Runs are planned by the one run planner (`defs/exports/run_plan.py`): each
stretch of neighbouring sprints is one run (range tags), a lone sprint a
partition run. Each launch carries the `requested_by` tags `keys.py` signs for
the caller; nothing the client sends becomes a tag. Access is decided for
every sprint before anything is launched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from sprint_exports import names
from sprint_exports.access import export_refusals
from sprint_exports.formats import FORMAT_NAMES
from sprint_exports.portal.keys import requested_by_tags
from sprint_exports.portal.state import PortalState
from sprint_exports.portal_db.user_templates import USER_TEMPLATE_PREFIX, find_template
from sprint_exports.source.readers import list_sprints
from sprint_exports.templates import TemplateError, load_templates
from sprint_exports import settings

LAUNCH_RUN = """
mutation LaunchExport($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on InvalidOutputError { stepKey }
    ... on InvalidStepError { invalidStepKey }
  }
}
"""


class LaunchRefused(Exception):
    """A launch that must not happen; `status_code` says why (403 refused, 404 unknown, 422 bad request)."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(detail)
        self.status_code, self.detail = status_code, detail


class LaunchFailed(RuntimeError):
    """Dagster did not accept a launch."""


@dataclass(frozen=True)
class LaunchRequest:
    sprint_ids: list[int]
    formats: list[str]
    template: str | None
    extra_tags: Mapping[str, str] | None = None  # set by the portal itself (delivery), never by a client


def template_config(state: PortalState, email: str, template: str | None) -> dict:
    """Run config choosing `template`: a built-in or custom one by name, or the caller's own inline."""
    if template is None:
        return {}
    if template.startswith(USER_TEMPLATE_PREFIX):
        found = find_template(state.db, email, template)
        if found is None:
            raise LaunchRefused(404, f"Template {template!r} is not one of your templates or a published one")
        inline = found.template.model_dump(mode="json")
        return {"resources": {"report_template": {"config": {"inline": inline}}}}
    try:
        available = load_templates(settings.templates_dir())
    except TemplateError as error:
        raise LaunchRefused(422, str(error)) from None
    if template not in available:
        raise LaunchRefused(422, f"Unknown template {template!r}; available: {', '.join(sorted(available))} or user:<id>")
    return {"resources": {"report_template": {"config": {"name": template}}}}


def check_request(state: PortalState, email: str, request: LaunchRequest) -> list[int]:
    """The tracker's sprint ids after every check; raises LaunchRefused naming each unknown or refused sprint."""
    unknown_formats = [f for f in request.formats if f not in FORMAT_NAMES]
    if unknown_formats or not request.formats:
        raise LaunchRefused(422, f"formats {request.formats!r} not allowed: use a non-empty subset of {', '.join(FORMAT_NAMES)}")
    source_ids = list_sprints(state.tracker)["id"].to_list()
    unknown = sorted(set(request.sprint_ids) - set(source_ids))
    if unknown:
        raise LaunchRefused(404, f"Sprint id(s) {', '.join(map(str, unknown))} not found in the tracker")
    refusals = export_refusals(state.tracker, email, request.sprint_ids)
    if refusals:
        listed = "; ".join(f"sprint {sprint_id}: {reason}" for sprint_id, reason in sorted(refusals.items()))
        raise LaunchRefused(403, f"Export refused for {email}: {listed}")
    return source_ids


def launch_exports(state: PortalState, email: str, request: LaunchRequest) -> list[str]:
    """Check everything, then launch one run per stretch of neighbouring sprints; returns the run ids."""
    from sprint_exports.defs.exports.run_plan import export_selection, plan_runs  # loads Dagster: only when launching

    source_ids = check_request(state, email, request)
    run_config = template_config(state, email, request.template)
    wanted = list(dict.fromkeys(request.sprint_ids))
    planned = plan_runs(state.instance(), wanted, source_ids)
    selection = [{"path": key.path} for key in export_selection(request.formats)]
    run_ids = []
    for run in planned:
        tags = {**(request.extra_tags or {}), **run.range_tags, **requested_by_tags(email, list(run.partition_keys))}
        if run.partition_key is not None:
            tags["dagster/partition"] = run.partition_key
        run_ids.append(launch_run(state.config.dagster_url, state.config.location_name, selection, run_config, tags))
    return run_ids


def launch_run(url: str, location: str, selection: Sequence[dict], run_config: dict, tags: Mapping[str, str]) -> str:
    params = {
        "selector": {"repositoryLocationName": location, "repositoryName": "__repository__",
                     "jobName": names.EXPORT_JOB, "assetSelection": list(selection)},
        "runConfigData": run_config,
        "executionMetadata": {"tags": [{"key": key, "value": value} for key, value in tags.items()]},
    }
    try:
        response = httpx.post(url, json={"query": LAUNCH_RUN, "variables": {"executionParams": params}}, timeout=60)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise LaunchFailed(f"Dagster at {url} did not answer the launch: {error}") from None
    if body.get("errors"):
        raise LaunchFailed(f"Dagster refused the launch: {body['errors'][0].get('message', body['errors'][0])}")
    result = body["data"]["launchRun"]
    if result["__typename"] == "LaunchRunSuccess":
        return result["run"]["runId"]
    detail = result.get("message") or "; ".join(e["message"] for e in result.get("errors", [])) or result["__typename"]
    raise LaunchFailed(f"Dagster refused the launch ({result['__typename']}): {detail}")
