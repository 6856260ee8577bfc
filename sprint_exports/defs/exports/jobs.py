"""`export_sprints_job`: materializes the five sprint assets for any set of sprints."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from sprint_exports.defs.common.executor import selected_executor
from sprint_exports.defs.exports.assets import SPRINT_ASSETS
from sprint_exports.names import EXPORT_JOB, SOURCE_LOAD_TAG

export_sprints_job = define_asset_job(
    name=EXPORT_JOB,
    selection=AssetSelection.assets(*SPRINT_ASSETS),
    executor_def=selected_executor(),
    tags={SOURCE_LOAD_TAG: "export"},
    description="Extract, measure and export sprints as CSV, XLSX and PDF (one run for many sprints).",
)
