"""The one run planner: which runs export a set of sprints, and which sprints a run covers.

A single-run backfill covers a key range in the partitions' insertion order,
so each stretch of neighbouring sprints can be one run: the range is given by
Dagster's range tags (a lone sprint by its partition key). The command line,
the schedules and the access check all go through here, so a run is planned
and read back one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dagster import AssetKey, DagsterInstance

from sprint_exports.defs.exports.partitions import contiguous_ranges, register_sprints, sprint_key, sprints_partitions
from sprint_exports.instance.dagster_private import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from sprint_exports.names import EXPORT_ASSET_NAMES, EXTRACT_ASSET, METRICS_ASSET


@dataclass(frozen=True)
class PlannedRun:
    """One run over a stretch of neighbouring sprint partitions."""

    partition_keys: tuple[str, ...]

    @property
    def partition_key(self) -> str | None:
        """The run's partition when it covers one sprint; a range run has none."""
        return self.partition_keys[0] if len(self.partition_keys) == 1 else None

    @property
    def range_tags(self) -> dict[str, str]:
        if len(self.partition_keys) == 1:
            return {}
        return {ASSET_PARTITION_RANGE_START_TAG: self.partition_keys[0], ASSET_PARTITION_RANGE_END_TAG: self.partition_keys[-1]}

    @property
    def label(self) -> str:
        """`3` or `3-7`: names the run in run keys."""
        return f"{self.partition_keys[0]}-{self.partition_keys[-1]}"


def plan_runs(instance: DagsterInstance, sprint_ids: Iterable[int], tracker_sprint_ids: Iterable[int]) -> list[PlannedRun]:
    """Register every tracker sprint as a partition, then group `sprint_ids` into runs of neighbours."""
    register_sprints(instance, tracker_sprint_ids)
    registered = instance.get_dynamic_partitions(sprints_partitions.name)
    position = {key: index for index, key in enumerate(registered)}
    wanted = [sprint_key(sprint_id) for sprint_id in sprint_ids]
    return [
        PlannedRun(tuple(registered[position[start] : position[end] + 1]))
        for start, end in contiguous_ranges(registered, wanted)
    ]


def run_partition_keys(instance: DagsterInstance, run_tags: Mapping[str, str]) -> list[str]:
    """The sprint keys a run covers: its partition, or its range in partition order."""
    if run_tags.get(PARTITION_NAME_TAG):
        return [run_tags[PARTITION_NAME_TAG]]
    start, end = run_tags.get(ASSET_PARTITION_RANGE_START_TAG), run_tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start is None or end is None:
        return []
    registered = instance.get_dynamic_partitions(sprints_partitions.name)
    if start not in registered or end not in registered:
        return [start, end]
    return registered[registered.index(start) : registered.index(end) + 1]


def export_selection(formats: Sequence[str]) -> list[AssetKey]:
    """The assets a run of these formats materializes: extract, metrics and one per format."""
    return [AssetKey(EXTRACT_ASSET), AssetKey(METRICS_ASSET), *(AssetKey(EXPORT_ASSET_NAMES[name]) for name in formats)]


def template_run_config(template: str | None) -> dict:
    """The run config that chooses a template by name (nothing for the default)."""
    return {} if template is None else {"resources": {"report_template": {"config": {"name": template}}}}
