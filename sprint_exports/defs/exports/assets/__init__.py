"""The five sprint assets: extract, metrics, and one export asset per format."""

from sprint_exports.defs.exports.assets.files import sprint_csv, sprint_pdf, sprint_xlsx
from sprint_exports.defs.exports.assets.extract import sprint_extract
from sprint_exports.defs.exports.assets.metrics import sprint_metrics

SPRINT_ASSETS = [sprint_extract, sprint_metrics, sprint_csv, sprint_xlsx, sprint_pdf]

__all__ = ["SPRINT_ASSETS", "sprint_csv", "sprint_extract", "sprint_metrics", "sprint_pdf", "sprint_xlsx"]
