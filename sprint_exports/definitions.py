"""The code location: `defs` is the one Definitions object (workspace.yaml loads this module)."""

from __future__ import annotations

from dagster import Definitions

from sprint_exports.assets import SPRINT_ASSETS
from sprint_exports.io_manager import SprintPartitionIOManager
from sprint_exports.jobs import export_sprints_job
from sprint_exports.resources import ExportStore, TrackerDatabase
from sprint_exports.sensors import sprint_partitions_sensor
from sprint_exports.settings import templates_dir
from sprint_exports.template_config import ReportTemplate
from sprint_exports.templates import load_templates

# Fails the code location load, naming the file and field, if a custom template is bad.
load_templates(templates_dir())

defs = Definitions(
    assets=SPRINT_ASSETS,
    jobs=[export_sprints_job],
    sensors=[sprint_partitions_sensor],
    resources={
        "tracker": TrackerDatabase(),
        "export_store": ExportStore(),
        "sprint_io_manager": SprintPartitionIOManager(),
        "report_template": ReportTemplate(),
    },
)
