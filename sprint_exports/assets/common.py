"""What every sprint asset shares: partitioning, single-run backfills, and key parsing."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy, BetaWarning

from sprint_exports.partitions import sprint_id_of, sprints_partitions

GROUP = "sprint_exports"

# Single-run backfills are beta in Dagster 1.13 and the point of our design;
# the warning would otherwise greet every definition load.
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

SPRINT_ASSET_ARGS = dict(
    partitions_def=sprints_partitions,
    # A backfill of many sprints is one run that reads them in batches.
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
)
# Every sprint asset takes `access_check: RequesterCheck` without using it: Dagster sets it up
# before any step body runs, and it refuses runs whose requester may not see the sprints.


def partition_sprint_ids(context: AssetExecutionContext) -> dict[str, int]:
    """The run's partition keys mapped to sprint ids, in partition order."""
    return {key: sprint_id_of(key) for key in context.partition_keys}


def add_partition_metadata(context: AssetExecutionContext, partition_key: str, metadata: Mapping[str, Any]) -> None:
    """`context.add_asset_metadata(metadata, partition_key=...)` without its per-call key check.

    Dagster checks every call's key against the run's range by reading all
    dynamic partition keys from the instance (three queries, each on a new
    connection): 15-20 ms a call, and a 1,000-sprint run makes 2,000 calls.
    Callers pass keys they took from `context.partition_keys` (read once: each
    read is the same three queries), so the check cannot fail; we add the
    metadata where `add_asset_metadata` itself puts it (Dagster 1.13, pinned
    in constraints.txt; `test_export_job` reads it back).
    """
    step = context.op_execution_context._step_execution_context  # noqa: SLF001 - see docstring
    step._metadata_accumulator = step._metadata_accumulator.with_additional_asset_metadata(  # noqa: SLF001
        asset_key=context.asset_key, partition_key=partition_key, metadata=metadata
    )
