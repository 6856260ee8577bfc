"""`sprint_csv`, `sprint_xlsx`, `sprint_pdf`: the report files, one asset per format.

Each writes its own files through the export store and returns a
MaterializeResult, because the files are the output; the per-sprint metadata
(path, size, hash, template, expiry) is what the UI, history and delivery read.
"""

import datetime as dt

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue, asset

from sprint_exports.assets.common import SPRINT_ASSET_ARGS
from sprint_exports.assets.metrics import metrics_markdown
from sprint_exports.formats import get_format
from sprint_exports.metrics import SprintMetrics
from sprint_exports.progress import Progress
from sprint_exports.run_access import RequesterCheck
from sprint_exports.report import build_report
from sprint_exports.resources import ExportStore
from sprint_exports.source.extract import SprintExtract
from sprint_exports.store import ExportFile, export_folder, write_export
from sprint_exports.template_config import ReportTemplate


def export_metadata(export: ExportFile) -> dict:
    """The contract's metadata keys for one exported file."""
    return {
        "path": MetadataValue.path(str(export.path)),
        "size_bytes": export.size_bytes,
        "row_count": export.row_count,
        "sha256": export.sha256,
        "template": export.template,
        "expires_at": export.expires_at.isoformat(),
        "format": export.format,
        "sprint": export.sprint_name,
    }


def run_started_at(context: AssetExecutionContext) -> dt.datetime:
    """The run's creation time, so every format of one run lands in the same folder."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    created = record.create_timestamp if record else dt.datetime.now(dt.UTC)
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def build_export_asset(format_name: str) -> AssetsDefinition:
    @asset(name=f"sprint_{format_name}", **SPRINT_ASSET_ARGS)
    def export_asset(
        context: AssetExecutionContext,
        export_store: ExportStore,
        report_template: ReportTemplate,
        access_check: RequesterCheck,
        sprint_extract: dict[str, SprintExtract],
        sprint_metrics: dict[str, SprintMetrics],
    ) -> MaterializeResult:
        output_format = get_format(format_name)
        template = report_template.resolve()
        created_at = run_started_at(context)
        root, retention = export_store.root(), export_store.retention()
        progress = Progress(len(sprint_extract), f"sprints exported as {format_name}", context.log.info)
        for key, extract in sprint_extract.items():
            metrics = sprint_metrics[key]
            report = build_report(extract, metrics)
            folder = export_folder(root, report.sprint.id, created_at, context.run.run_id)
            export = write_export(
                report, template, output_format, folder, created_at=created_at, retention_days=retention
            )
            context.add_asset_metadata(
                {**export_metadata(export), "preview": MetadataValue.md(metrics_markdown(metrics))},
                partition_key=key,
            )
            progress.advance()
        return MaterializeResult()

    export_asset.__doc__ = f"The sprint report as {format_name.upper()} files, shaped by the run's template."
    return export_asset


sprint_csv = build_export_asset("csv")
sprint_xlsx = build_export_asset("xlsx")
sprint_pdf = build_export_asset("pdf")
