"""Running `export_sprints_job` in the Dagster instance from the command line.

The run is recorded in the instance like any other, so it shows in the UI.
Sprints are registered as partitions first; the requested keys are split into
contiguous ranges of the partition order, and each range runs as one run
(`--all` is always one run).

`requested_by` exports for that person: each run is tagged with the email and
a signature over it and the run's sprints, made just before the run starts
(`signing.py`; this process holds the secret key).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dagster import DagsterInstance

from sprint_exports.defs.exports.run_plan import export_selection, plan_runs, template_run_config
from sprint_exports.formats import FORMAT_NAMES
from sprint_exports.instance.run_records import ExportRecord, count_materializations, export_records
from sprint_exports import settings
from sprint_exports.access import AccessRefused, export_refusals
from sprint_exports.names import EXPORT_JOB, REQUESTED_BY, REQUESTED_BY_SIGNATURE
from sprint_exports.signing import sign_requested_by
from sprint_exports.source.database import connect
from sprint_exports.source.readers import UnknownSprintError, list_sprints

ProgressCallback = Callable[[int, int], None]


@dataclass
class RunOutcome:
    run_id: str
    partition_keys: list[str]
    success: bool
    files: list[ExportRecord] = field(default_factory=list)
    error: str | None = None


def parse_formats(text: str) -> list[str]:
    formats = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in formats if name not in FORMAT_NAMES]
    if unknown or not formats:
        raise ValueError(f"--formats {text!r} is not allowed: use a comma-separated subset of {','.join(FORMAT_NAMES)}")
    return list(dict.fromkeys(formats))


def export_sprints(
    instance: DagsterInstance,
    sprint_ids: Sequence[int] | None,
    formats: Sequence[str] = FORMAT_NAMES,
    on_progress: ProgressCallback | None = None,
    tags: dict[str, str] | None = None,
    template: str | None = None,
    requested_by: str | None = None,
    check_access_first: bool = True,
) -> list[RunOutcome]:
    """Export `sprint_ids` (None: every sprint) in as few runs as the partition order allows; for
    `requested_by` (each run signed for them), if that person may export them.

    Every sprint's access is decided before any run starts, so a refusal names
    every refused sprint and exports nothing (`check_access_first=False` leaves
    it to each run's own check, the one launches from the UI and GraphQL meet).
    """
    from sprint_exports.definitions import defs  # definition load is the slow part; only when running

    engine = connect()
    try:
        source_ids = list_sprints(engine)["id"].to_list()
    finally:
        engine.dispose()
    wanted = source_ids if sprint_ids is None else list(dict.fromkeys(sprint_ids))
    unknown = sorted(set(wanted) - set(source_ids))
    if unknown:
        raise UnknownSprintError(f"Sprint id(s) {', '.join(map(str, unknown))} not found in the tracker database")
    if not wanted:
        return []
    if requested_by and check_access_first:
        check_access(requested_by, wanted)
    key = settings.secret_key() if requested_by else b""
    planned = plan_runs(instance, wanted, source_ids)
    job = defs.resolve_job_def(EXPORT_JOB)
    selection = export_selection(formats)
    # The CLI shows a progress bar; the full logs are in the instance (and the UI).
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}, **template_run_config(template)}
    outcomes = []
    done_before = 0
    total = len(wanted) * len(selection)
    for run in planned:
        run_tags = {**(tags or {}), **run.range_tags}
        if requested_by:
            signature = sign_requested_by(key, requested_by, run.partition_keys, int(time.time()))
            run_tags.update({REQUESTED_BY: requested_by, REQUESTED_BY_SIGNATURE: signature})
        run_id = str(uuid.uuid4())  # what Dagster's own run ids are

        def execute() -> object:
            return job.execute_in_process(
                instance=instance,
                partition_key=run.partition_key,
                asset_selection=selection,
                run_id=run_id,
                tags=run_tags,
                run_config=run_config,
                raise_on_error=False,
            )

        result = _run_with_progress(instance, run_id, execute, done_before, total, on_progress)
        outcome = RunOutcome(run_id=run_id, partition_keys=list(run.partition_keys), success=result.success)
        outcome.files = export_records(instance, run_id)
        if not result.success:
            outcome.error = failure_message(result)
        outcomes.append(outcome)
        done_before += len(run.partition_keys) * len(selection)
        if not result.success:
            break
    return outcomes


def check_access(email: str, sprint_ids: Sequence[int]) -> None:
    """Refuse the whole export, naming every refused sprint, before any run starts.

    Each run checks again when it starts; this check is what keeps a refused
    sprint from stopping an export part-way, or its permitted neighbour in a
    shared run from being refused with it.
    """
    engine = connect()
    try:
        refusals = export_refusals(engine, email, sprint_ids)
    finally:
        engine.dispose()
    if refusals:
        raise AccessRefused(email, refusals)


def _run_with_progress(instance, run_id, execute, done_before, total, on_progress):
    """Execute in a worker thread while this one reports materializations as progress."""
    if on_progress is None:
        return execute()
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(result=execute()), daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.5)
        if instance.get_run_by_id(run_id) is not None:
            on_progress(done_before + count_materializations(instance, run_id), total)
    on_progress(done_before + count_materializations(instance, run_id), total)
    if "result" not in outcome:
        raise RuntimeError(f"Run {run_id} ended without a result; see the run's logs in the Dagster UI")
    return outcome["result"]


def failure_message(result) -> str:
    """The first failure's own error, unwrapped from Dagster's framework errors."""
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if not event.is_failure or error is None:
            continue
        while error.cause is not None and error.cls_name.startswith("Dagster"):
            error = error.cause
        where = f"step {event.step_key}" if event.step_key else "run start"
        text = error.message.strip().split(": ", 1)[-1]  # drop the module-qualified class name
        return f"{where} failed: {text if error.cls_name == 'Failure' else f'{error.cls_name}: {text}'}"
    return "the run failed; see its logs in the Dagster UI"
