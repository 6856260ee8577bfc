"""The export door of the access policy: refuse a run before it reads or writes anything.

A run tagged `sprint_exports/requested_by` (from the UI's tag editor, the
GraphQL API or `sprint-exports export --as EMAIL`) exports for that person.
Every sprint asset requires the `access_check` resource, and Dagster sets
resources up before any step body runs, so a refusal fails the run with no
file written.
"""

from __future__ import annotations

from dagster import ConfigurableResource, DagsterInstance, Failure, InitResourceContext
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG

from sprint_exports import settings, tags
from sprint_exports.access import AccessPolicy
from sprint_exports.partitions import sprint_id_of, sprints_partitions
from sprint_exports.source.database import connect
from sprint_exports.source.readers import list_sprints


def run_partition_keys(instance: DagsterInstance, run: DagsterRun) -> list[str]:
    """The sprint keys a run covers: its partition, or its range in partition order."""
    if run.tags.get(PARTITION_NAME_TAG):
        return [run.tags[PARTITION_NAME_TAG]]
    start, end = run.tags.get(ASSET_PARTITION_RANGE_START_TAG), run.tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start is None or end is None:
        return []
    registered = instance.get_dynamic_partitions(sprints_partitions.name)
    if start not in registered or end not in registered:
        return [start, end]
    return registered[registered.index(start) : registered.index(end) + 1]


class RequesterCheck(ConfigurableResource):
    """Refuses runs whose `requested_by` person may not export their sprints (see `access.py`)."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        run = context.run
        email = run.tags.get(tags.REQUESTED_BY, "").strip() if run else ""
        if not email:
            return
        sprint_ids = [sprint_id_of(key) for key in run_partition_keys(context.instance, run)]
        engine = connect(settings.source_url())
        try:
            policy = AccessPolicy.load(engine, [email])
            team_of = dict(list_sprints(engine).select("id", "team_id").iter_rows())
        finally:
            engine.dispose()
        refusals = [
            f"sprint {sprint_id}: {policy.decide(email, team_of[sprint_id]).reason}"
            for sprint_id in sprint_ids
            if sprint_id in team_of and not policy.decide(email, team_of[sprint_id]).allowed
        ]
        if refusals:
            raise Failure(
                f"Export refused for {email} ({tags.REQUESTED_BY}): " + "; ".join(refusals)
                + ". Admins may export every sprint; other users only their teams' sprints."
            )
