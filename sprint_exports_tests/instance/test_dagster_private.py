"""Dagster's private API, used only through `instance/dagster_private.py`, checked by name.

Dagster is pinned in pyproject.toml; an upgrade that moves any of this fails
here first. (`add_partition_metadata` is exercised by test_assets and
test_export_job, which read the metadata back.)
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from sprint_exports.instance import dagster_private

PACKAGE = Path(__file__).resolve().parents[2] / "sprint_exports"


def test_dagster_s_own_run_tags_are_what_ranges_rely_on():
    assert dagster_private.PARTITION_NAME_TAG == "dagster/partition"
    assert dagster_private.ASSET_PARTITION_RANGE_START_TAG == "dagster/asset_partition_range_start"
    assert dagster_private.ASSET_PARTITION_RANGE_END_TAG == "dagster/asset_partition_range_end"


def test_cron_helpers():
    assert dagster_private.is_valid_cron("0 8 * * MON") and not dagster_private.is_valid_cron("every monday")
    berlin_monday = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    previous = dagster_private.previous_cron_tick("0 8 * * MON", berlin_monday, "Europe/Berlin")
    assert previous.astimezone(dt.UTC) == dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)


def test_no_other_module_imports_dagster_internals():
    found = subprocess.run(
        ["grep", "-rln", "--include=*.py", r"from dagster\._\|import dagster\._", str(PACKAGE)],
        capture_output=True, text=True,
    ).stdout.split()
    assert [Path(path).relative_to(PACKAGE).as_posix() for path in found] == ["instance/dagster_private.py"]
