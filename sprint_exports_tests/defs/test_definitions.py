"""The code location loads and keeps the contract's names."""

from __future__ import annotations

from dagster import AssetKey, DynamicPartitionsDefinition

from sprint_exports.definitions import defs

CONTRACT_ASSETS = ["sprint_extract", "sprint_metrics", "sprint_csv", "sprint_xlsx", "sprint_pdf"]


def test_job_selects_the_five_partitioned_assets():
    job = defs.resolve_job_def("export_sprints_job")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == set(CONTRACT_ASSETS)
    for name in CONTRACT_ASSETS:
        asset = defs.resolve_assets_def(AssetKey(name))
        partitions = asset.partitions_def
        assert isinstance(partitions, DynamicPartitionsDefinition) and partitions.name == "sprints"
        assert asset.backfill_policy is not None and asset.backfill_policy.max_partitions_per_run is None


def test_sensor_is_defined():
    assert defs.resolve_sensor_def("sprint_partitions_sensor").job_name == "export_sprints_job"
