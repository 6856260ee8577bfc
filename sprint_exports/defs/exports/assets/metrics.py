"""`sprint_metrics`: the contract metrics of each sprint, shown in the UI as a table."""

from dagster import AssetExecutionContext, MetadataValue

from sprint_exports.instance.dagster_private import prepare_event_writes
from sprint_exports.defs.exports.assets.common import add_partition_metadata, sprint_asset
from sprint_exports.defs.common.access_check import RequesterCheck
from sprint_exports.report.metrics import SprintMetrics, compute_metrics
from sprint_exports.report.model import metrics_summary
from sprint_exports.source.extract import SprintExtract


@sprint_asset(io_manager_key="sprint_io_manager")
def sprint_metrics(
    context: AssetExecutionContext, access_check: RequesterCheck, sprint_extract: dict[str, SprintExtract]
) -> dict[str, SprintMetrics]:
    """Velocity, completion, capacity, counts per status, average velocity and the daily burndown."""
    prepare_event_writes(context.instance, context.run.run_id)
    results: dict[str, SprintMetrics] = {}
    for key, extract in sprint_extract.items():
        metrics = compute_metrics(extract)
        results[key] = metrics
        summary = metrics_summary(metrics)
        add_partition_metadata(
            context,
            key,
            {**metrics.scalars(), "preview": MetadataValue.md(summary.markdown()), "summary": MetadataValue.json(summary.as_json())},
        )
    return results


def metrics_markdown(metrics: SprintMetrics) -> str:
    """The metrics preview the UI shows, the same rows and rounding as every file."""
    return metrics_summary(metrics).markdown()
