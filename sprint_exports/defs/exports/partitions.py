"""One Dagster partition per sprint: the contract's dynamic `sprints` partitions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dagster import DagsterInstance, DynamicPartitionsDefinition

sprints_partitions = DynamicPartitionsDefinition(name="sprints")


def sprint_key(sprint_id: int) -> str:
    return str(int(sprint_id))


def sprint_id_of(partition_key: str) -> int:
    if not partition_key.isdecimal():
        raise ValueError(f"Partition key {partition_key!r} is not a sprint id (a decimal number)")
    return int(partition_key)


def missing_keys(registered: Iterable[str], sprint_ids: Iterable[int]) -> list[str]:
    """Keys of `sprint_ids` not yet registered, in id order so ranges follow ids."""
    known = set(registered)
    return [sprint_key(i) for i in sorted(sprint_ids) if sprint_key(i) not in known]


def register_sprints(instance: DagsterInstance, sprint_ids: Iterable[int]) -> list[str]:
    """Add a partition for every sprint that lacks one; returns the keys added."""
    new = missing_keys(instance.get_dynamic_partitions(sprints_partitions.name), sprint_ids)
    if new:
        instance.add_dynamic_partitions(sprints_partitions.name, new)
    return new


def contiguous_ranges(registered: Sequence[str], wanted: Iterable[str]) -> list[tuple[str, str]]:
    """Split `wanted` keys into runs of neighbours in partition order.

    A single-run backfill covers a key range in the partitions' insertion
    order, so each contiguous stretch can be one run.
    """
    wanted_set = set(wanted)
    unknown = sorted(wanted_set - set(registered), key=lambda k: (len(k), k))
    if unknown:
        raise ValueError(f"Sprint(s) {', '.join(unknown)} are not registered as partitions of 'sprints'")
    ranges: list[tuple[str, str]] = []
    start = previous = None
    for key in registered:
        if key in wanted_set:
            start = start or key
            previous = key
        elif start is not None:
            ranges.append((start, previous))
            start = None
    if start is not None:
        ranges.append((start, previous))
    return ranges
