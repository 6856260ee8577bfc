"""What every sprint asset shares: partitioning, single-run backfills, and key parsing."""

from __future__ import annotations

import warnings

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
