"""`sprint_extract`: one sprint's sprint row, team, members and issues, read from the tracker."""

# No `from __future__ import annotations`: Dagster reads these type hints at definition time.
from dagster import AssetExecutionContext

from sprint_exports.instance.dagster_private import prepare_event_writes
from sprint_exports.defs.exports.assets.common import add_partition_metadata, partition_sprint_ids, sprint_asset
from sprint_exports.exports.progress import Progress
from sprint_exports.defs.common.access_check import RequesterCheck
from sprint_exports.defs.common.resources import TrackerDatabase
from sprint_exports.source.extract import SprintExtract
from sprint_exports.names import SOURCE_POOL
from sprint_exports.source.readers import read_sprints

READ_BATCH = 250


@sprint_asset(io_manager_key="sprint_io_manager", pool=SOURCE_POOL)
def sprint_extract(
    context: AssetExecutionContext, tracker: TrackerDatabase, access_check: RequesterCheck
) -> dict[str, SprintExtract]:
    """The sprint as the tracker has it: sprint facts, team members and every issue."""
    prepare_event_writes(context.instance, context.run.run_id)
    ids = partition_sprint_ids(context)
    engine = tracker.engine()
    keys = list(ids)
    progress = Progress(len(keys), "sprints read", context.log.info)
    extracts: dict[str, SprintExtract] = {}
    for start in range(0, len(keys), READ_BATCH):
        batch = keys[start : start + READ_BATCH]
        by_id = read_sprints(engine, [ids[key] for key in batch])
        for key in batch:
            extract = by_id[ids[key]]
            extracts[key] = extract
            add_partition_metadata(
                context,
                key,
                {
                    "sprint": extract.sprint.name,
                    "team": extract.sprint.team_name,
                    "status": extract.sprint.status,
                    "issue_count": extract.issues.height,
                    "member_count": extract.members.height,
                },
            )
        progress.advance(len(batch))
    return extracts
