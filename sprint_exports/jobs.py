"""Jobs: `export_sprints_job` materializes the five sprint assets for any set of sprints."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from sprint_exports.assets import SPRINT_ASSETS

# In-process: a sprint's five steps are small, and a process per step costs
# ~13 s of start-up per run on 2 cores (see ../shared/DAGSTER_NOTES.md).
export_sprints_job = define_asset_job(
    name="export_sprints_job",
    selection=AssetSelection.assets(*SPRINT_ASSETS),
    executor_def=in_process_executor,
    description="Extract, measure and export sprints as CSV, XLSX and PDF (one run for many sprints).",
)
