"""`sprint_csv`, `sprint_xlsx`, `sprint_pdf`: the report files, one asset per format.

Each writes its own files through the export store (on worker processes for
a bulk run, see `render_pool`) and records each file as a materialization of
its sprint's partition; the per-sprint metadata (path, size, hash, template,
expiry) is what the UI, history and delivery read. How a file is recorded is
decided once per step by `records_in_batches` (`instance/event_writes.py`):

- **per event** (without `DAGSTER_EVENT_BATCH_SIZE`): an AssetMaterialization
  the moment the file is written;
- **batched** (with it, on PostgreSQL or SQLite): the file's metadata goes on the
  context and the step returns a MaterializeResult, so Dagster writes the
  step's materializations as one multi-row INSERT. If a sprint fails
  part-way, the files already written are recorded one event each before the
  error ends the step, so a failed run still lists them.

Either way the step logs "k of N sprints exported as <format>" as files arrive.
A sprint of more than 10,000 issues also logs, at least every tenth of its
rows, how many are written, how fast, and the ETA: the run view shows these
lines live.
"""

import datetime as dt
from collections.abc import Callable, Iterator, Mapping

from dagster import AssetExecutionContext, AssetMaterialization, AssetsDefinition, MaterializeResult, MetadataValue

from sprint_exports import settings
from sprint_exports.names import EXPORT_ASSET_NAMES
from sprint_exports.signing import download_page_url
from sprint_exports.defs.exports.assets.common import add_partition_metadata, sprint_asset
from sprint_exports.defs.exports.partitions import sprint_id_of
from sprint_exports.defs.exports.assets.metrics import metrics_markdown
from sprint_exports.formats import OnRows, get_format
from sprint_exports.report.metrics import SprintMetrics
from sprint_exports.exports.progress import Progress
from sprint_exports.defs.common.access_check import RequesterCheck
from sprint_exports.report.model import SprintReport, build_report
from sprint_exports.defs.exports.resources import ExportStore
from sprint_exports.source.extract import SprintExtract
from sprint_exports.exports.render_pool import ExportOptions, ExportTask, write_exports
from sprint_exports.exports.store import ExportFile, export_folder
from sprint_exports.defs.exports.template_config import ReportTemplate
from sprint_exports.instance.dagster_private import prepare_event_writes
from sprint_exports.instance.event_writes import records_in_batches

# A sprint with more issues than this logs its rows' progress while each file is written.
ROW_PROGRESS_MIN = 10_000


def export_metadata(export: ExportFile, run_id: str) -> dict:
    """The contract's metadata keys for one exported file; with SPRINT_EXPORTS_PORTAL_URL set, also
    `download_url`: the portal's plain page of the file, which asks for sign-in (a link for admins)."""
    portal = settings.portal_url_if_set()
    link = {"download_url": MetadataValue.url(download_page_url(portal, run_id, export.format, export.sprint_id))} if portal else {}
    return {
        "path": MetadataValue.path(str(export.path)),
        "size_bytes": export.size_bytes,
        "row_count": export.row_count,
        "sha256": export.sha256,
        "template": export.template,
        "expires_at": export.expires_at.isoformat(),
        "format": export.format,
        "sprint": export.sprint_name,
        **link,
    }


def run_started_at(context: AssetExecutionContext) -> dt.datetime:
    """The run's creation time, so every format of one run lands in the same folder."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    created = record.create_timestamp if record else dt.datetime.now(dt.UTC)
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def row_progress(report: SprintReport, format_name: str, log: Callable[[str], None]) -> OnRows | None:
    """For a sprint of more than ROW_PROGRESS_MIN issues, a renderer's `on_rows` that logs
    "k of N rows written to <format>" with rate and ETA at least every tenth; None otherwise."""
    rows = report.issues.height
    if rows <= ROW_PROGRESS_MIN:
        return None
    return Progress(rows, f"rows written to {format_name}", log).advance


def build_export_asset(format_name: str) -> AssetsDefinition:
    @sprint_asset(name=EXPORT_ASSET_NAMES[format_name], output_required=False)
    def export_asset(
        context: AssetExecutionContext,
        export_store: ExportStore,
        report_template: ReportTemplate,
        access_check: RequesterCheck,
        sprint_extract: dict[str, SprintExtract],
        sprint_metrics: dict[str, SprintMetrics],
    ):  # yields AssetMaterialization or MaterializeResult; a return annotation would declare an output type
        prepare_event_writes(context.instance, context.run.run_id)
        created_at = run_started_at(context)
        options = ExportOptions(
            template=report_template.resolve(),
            output_format=get_format(format_name),
            created_at=created_at,
            retention_days=export_store.retention(context.run.tags),  # checked at run start
        )
        # In sprint order (Dagster hands a range's inputs over in no set order): progress, and what a
        # failure part-way has recorded, follow the sprints.
        root, keys = export_store.root(), sorted(sprint_extract, key=sprint_id_of)
        tasks = []
        for key in keys:
            report = build_report(sprint_extract[key], sprint_metrics[key])
            tasks.append(ExportTask(report, export_folder(root, report.sprint.id, created_at, context.run.run_id)))
        exports = write_exports(
            tasks,
            options,
            processes=export_store.processes(),
            row_progress=lambda report: row_progress(report, format_name, context.log.info),
            on_pool=lambda workers: context.log.info(
                f"Rendering {len(tasks)} sprints as {format_name} on {workers} worker processes"
            ),
        )
        described = (
            (key, {**export_metadata(export, context.run.run_id), "preview": MetadataValue.md(metrics_markdown(sprint_metrics[key]))})
            for key, export in zip(keys, exports)
        )
        progress = Progress(len(tasks), f"sprints exported as {format_name}", context.log.info)
        if records_in_batches(context.instance):
            yield from record_in_batches(context, described, progress)
        else:
            for key, metadata in described:
                yield materialization(context, key, metadata)
                progress.advance()

    export_asset.__doc__ = f"The sprint report as {format_name.upper()} files, shaped by the run's template."
    return export_asset


def materialization(context: AssetExecutionContext, key: str, metadata: Mapping) -> AssetMaterialization:
    """One file's record as its own event, written the moment it is yielded."""
    return AssetMaterialization(asset_key=context.asset_key, partition=key, metadata=metadata)


def record_in_batches(
    context: AssetExecutionContext, described: Iterator[tuple[str, dict]], progress: Progress
) -> Iterator[AssetMaterialization | MaterializeResult]:
    """Hold each written file's metadata until every sprint is written, then hand it all to Dagster
    with the step's MaterializeResult (one batch). If writing stops part-way (an error, or the run
    being stopped), record the files already written one event each, then let the error end the step."""
    written: list[tuple[str, dict]] = []
    try:
        for key, metadata in described:
            written.append((key, metadata))
            progress.advance()
    except BaseException:  # also the run being stopped (Dagster's interrupt is no Exception)
        for key, metadata in written:
            yield materialization(context, key, metadata)
        raise
    for key, metadata in written:
        add_partition_metadata(context, key, metadata)
    yield MaterializeResult()


sprint_csv = build_export_asset("csv")
sprint_xlsx = build_export_asset("xlsx")
sprint_pdf = build_export_asset("pdf")
