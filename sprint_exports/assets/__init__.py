"""The five sprint assets: extract, metrics, and one export asset per format."""

from sprint_exports.assets.exports import sprint_csv, sprint_pdf, sprint_xlsx
from sprint_exports.assets.extract import sprint_extract
from sprint_exports.assets.metrics import sprint_metrics

SPRINT_ASSETS = [sprint_extract, sprint_metrics, sprint_csv, sprint_xlsx, sprint_pdf]
EXPORT_ASSET_NAMES = {"csv": "sprint_csv", "xlsx": "sprint_xlsx", "pdf": "sprint_pdf"}

__all__ = ["EXPORT_ASSET_NAMES", "SPRINT_ASSETS", "sprint_csv", "sprint_extract", "sprint_metrics", "sprint_pdf", "sprint_xlsx"]
