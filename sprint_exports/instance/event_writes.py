"""How export steps record their files: one event at a time, or in batches. Decided here, once.

A 1,000-sprint export records 3,000 file materializations. Dagster writes each
as its own event, except where the event log can write a batch in one statement:

- **PostgreSQL** (`dagster_postgres`): with `DAGSTER_EVENT_BATCH_SIZE` > 0,
  materializations derived from a step's *output* (per-partition metadata
  added to the context, then the output) go to the storage as one multi-row
  INSERT per batch. Each single event costs two new connections (10–13 ms).
  A yielded `AssetMaterialization` is never batched.
- **SQLite**: Dagster's storage writes a "batch" one event at a time (two
  commits each), so the sprint steps give it a batch writer of the same kind
  (`write_sqlite_event_batches`); with it, the same variable batches there too.

So an export step records in batches exactly when `records_in_batches` says so;
otherwise it records each file the moment it is written.
"""

from __future__ import annotations

import os

from dagster import DagsterInstance
from dagster_postgres import PostgresEventLogStorage

from sprint_exports.instance.dagster_private import is_sqlite_event_log

# Dagster reads this on every event, in the process that runs the step.
EVENT_BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE"
# A batch per step output: a 1,000-sprint step's materializations in one INSERT.
DEFAULT_EVENT_BATCH_SIZE = 1000


def writes_batches(instance: DagsterInstance) -> bool:
    """Whether the instance's event log writes a batch of events as one statement: PostgreSQL's does,
    and SQLite's once the sprint steps have given it a batch writer (`write_sqlite_event_batches`)."""
    return isinstance(instance.event_log_storage, PostgresEventLogStorage) or is_sqlite_event_log(instance)


def event_batch_size() -> int:
    """`DAGSTER_EVENT_BATCH_SIZE` as Dagster reads it (unset or not a number: 0, no batching)."""
    try:
        return int(os.environ.get(EVENT_BATCH_SIZE, "0"))
    except ValueError:
        return 0


def records_in_batches(instance: DagsterInstance) -> bool:
    """The one decision: export steps hand their files' metadata to Dagster at the end of the step
    (written in batches) when batching is on; otherwise, one event per file."""
    return writes_batches(instance) and event_batch_size() > 0


def enable_batches_for(instance: DagsterInstance) -> None:
    """Turn on Dagster's event batching in this process when the instance can use it; an explicit
    `DAGSTER_EVENT_BATCH_SIZE` (even 0) wins. For processes that run steps themselves (the CLI)."""
    if writes_batches(instance):
        os.environ.setdefault(EVENT_BATCH_SIZE, str(DEFAULT_EVENT_BATCH_SIZE))
