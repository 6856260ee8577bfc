"""What every sprint asset shares: partitioning, single-run backfills, and key parsing."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition, BackfillPolicy, BetaWarning, asset

from sprint_exports.defs.exports.partitions import sprint_id_of, sprints_partitions
from sprint_exports.instance.dagster_private import add_partition_metadata

__all__ = ["GROUP", "add_partition_metadata", "partition_sprint_ids", "sprint_asset"]

GROUP = "sprint_exports"


def sprint_asset(**kwargs: Any) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """`@asset`, partitioned by sprint, with single-run backfills: a backfill of many sprints is one
    run that reads them in batches.

    Every sprint asset also takes `access_check: RequesterCheck` without using it: Dagster sets it
    up before any step body runs, and it refuses runs whose requester may not see the sprints.
    """

    def decorate(function: Callable[..., Any]) -> AssetsDefinition:
        # Single-run backfills are beta in Dagster 1.13 and the point of our design; silence that one
        # warning here, where the assets are defined, not for the whole process.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")
            return asset(
                partitions_def=sprints_partitions,
                backfill_policy=BackfillPolicy.single_run(),
                group_name=GROUP,
                **kwargs,
            )(function)

    return decorate


def partition_sprint_ids(context: AssetExecutionContext) -> dict[str, int]:
    """The run's partition keys mapped to sprint ids, in partition order."""
    return {key: sprint_id_of(key) for key in context.partition_keys}
