"""Checks every run passes when it starts, before any step: what a launcher sent, and the settings.

Dagster resolves `{env: NAME}` in any str, int or bool config field from the
run worker's environment, so a launcher could read a secret into a subject,
a template title or an error message. No launch option of ours may do that:
a run whose config reads the environment anywhere is refused here. The
settings a run relies on (retention, render processes, a delivery subject)
are checked here too, so a bad one fails the run before `sprint_extract`
reads anything, not after two steps have run and been recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

from dagster import DagsterInstance, DagsterRun, Failure

from sprint_exports import names, settings
from sprint_exports.delivery.message import check_subject_template
from sprint_exports.exports.storage import export_storage


def refuse_environment_reads(run: DagsterRun | None) -> None:
    """Fail a run whose run config has `{env: …}` anywhere (launch options must be plain values)."""
    if run is None:
        return
    found = sorted(set(_environment_reads(run.run_config or {}, "")))
    if found:
        raise Failure(
            "Run config may not read the environment, and this run's does at "
            + ", ".join(found)
            + ". Give launch options as plain values; deployment settings (tracker, SMTP, export folder, ledger) "
            "come from the code location's environment, never from run config."
        )


def _environment_reads(value: object, path: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        if "env" in value:
            yield path or "the top level"
        for key, inner in value.items():
            yield from _environment_reads(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from _environment_reads(inner, f"{path}[{index}]")


def run_retention_days(tags: Mapping[str, str]) -> int:
    """The run's `sprint_exports/retention_days` tag (a schedule's override), else SPRINT_EXPORTS_RETENTION_DAYS."""
    raw = tags.get(names.RETENTION_DAYS)
    if raw is None:
        return settings.retention_days()
    return settings.check_retention_days(raw, f"Run tag {names.RETENTION_DAYS}")


def check_export_run(run: DagsterRun) -> None:
    """Fail an export run, before any step, whose settings or options are not allowed."""
    try:
        run_retention_days(run.tags)
        export_storage().check()  # the setting, and on S3 the bucket and credentials
        settings.render_processes()
        subject = run.tags.get(names.SUBJECT)
        if subject is not None:
            try:
                check_subject_template(subject)
            except ValueError as error:
                raise settings.SettingError(f"Run tag {names.SUBJECT}: {error}") from None
    except settings.SettingError as error:
        raise Failure(f"Run refused before any step: {error}") from None


def launched_at(instance: DagsterInstance, run: DagsterRun) -> float:
    """When the run was created in the instance (unix time): Dagster records it, no launcher can set it."""
    record = instance.get_run_record_by_id(run.run_id)
    if record is None:
        raise Failure(f"Run {run.run_id} has no record in the instance; cannot tell when it was launched")
    created = record.create_timestamp
    return (created if created.tzinfo else created.replace(tzinfo=dt.UTC)).timestamp()
