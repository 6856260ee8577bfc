"""Every use of Dagster's private API, in this one module, each with the public API it stands in for.

Dagster is pinned to 1.13.27 in pyproject.toml; an upgrade must re-check each
item below. `sprint_exports_tests/test_dagster_private.py` exercises all of
them, so a change in Dagster fails there first, by name.
"""

from __future__ import annotations

import atexit
import datetime as dt
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import AssetExecutionContext, AssetKey, DagsterEventType, DagsterInstance, EventLogEntry

# The embedded SQLite event log's class, its cross-run shard's name, and what its `_connect` uses
# (see keep_sqlite_event_log_open and reuse_sqlite_event_log_engines).
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME as SQLITE_INDEX_SHARD,
    SqliteEventLogStorage,
)
# The event log's table (see write_sqlite_event_batches).
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.sql import create_engine as sqlite_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.pool import NullPool

# No public constants for the tags Dagster itself puts on partitioned runs. We read them to know
# which sprints a run covers and set the range pair to launch one run over many partitions
# (what a single-run backfill does).
from dagster._core.storage.tags import (  # noqa: F401 (re-exported)
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

# No public cron helpers: Dagster validates `cron_schedule` only when a ScheduleDefinition is
# built (too late to name the file and entry), and gives a schedule no "previous tick" time.
from dagster._utils.schedules import get_latest_completed_cron_tick, is_valid_cron_string


def is_valid_cron(cron: str) -> bool:
    """Whether Dagster's scheduler accepts `cron` (five fields, its own aliases)."""
    return bool(is_valid_cron_string(cron))


def previous_cron_tick(cron: str, before: dt.datetime, timezone: str) -> dt.datetime | None:
    """The latest tick of `cron` (in `timezone`) strictly before `before`."""
    return get_latest_completed_cron_tick(cron, before - dt.timedelta(seconds=1), timezone)


def add_partition_metadata(context: AssetExecutionContext, partition_key: str, metadata: Mapping[str, Any]) -> None:
    """`context.add_asset_metadata(metadata, partition_key=...)` without its per-call key check.

    Public API missing: a way to add per-partition metadata for keys the
    caller already took from `context.partition_keys`. Dagster checks every
    call's key against the run's range by reading all dynamic partition keys
    from the instance (three queries, each on a new connection): 15-20 ms a
    call, and a 1,000-sprint run makes 2,000 calls. We add the metadata where
    `add_asset_metadata` itself puts it.
    """
    step = context.op_execution_context._step_execution_context  # noqa: SLF001 - see docstring
    step._metadata_accumulator = step._metadata_accumulator.with_additional_asset_metadata(  # noqa: SLF001
        asset_key=context.asset_key, partition_key=partition_key, metadata=metadata
    )


def keep_sqlite_event_log_open(instance: DagsterInstance, run_id: str) -> None:
    """On the embedded SQLite instance, hold one idle connection to the run's event-log shard and to
    the index shard until the next run in this process (or its exit).

    Public API missing: any way to pool the SQLite event log's connections
    (`SqliteEventLogStorage._connect`, 1.13.27, makes a new engine and
    connection for every write). When a write's connection closes it is the
    database's last one, so SQLite checkpoints its WAL into the database file
    and removes it: twice an asset event. An idle connection kept open makes
    those closes ordinary ones (SQLite still checkpoints every 1,000 pages):
    measured here, 6.2 ms of CPU and 14-27 ms of wall an event became 4.3 ms
    and 7-10 ms. It holds no lock (no transaction is left open), and opens
    the files read-write without creating them. The shard paths come from
    `SqliteEventLogStorage.path_for_shard` and its index shard's name.
    """
    storage = instance.event_log_storage
    if not isinstance(storage, SqliteEventLogStorage):
        return
    paths = [storage.path_for_shard(run_id), storage.path_for_shard(SQLITE_INDEX_SHARD)]
    if _kept_open and [path for path, _ in _kept_open] == paths:
        return
    _close_kept()
    for path in paths:
        try:
            connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, check_same_thread=False)  # closed from any thread
            connection.execute("PRAGMA schema_version").fetchall()  # maps the WAL index; no transaction stays open
        except sqlite3.Error:
            continue  # not created yet: Dagster's own writes work as before
        _kept_open.append((path, connection))


_kept_open: list[tuple[str, sqlite3.Connection]] = []


def _close_kept() -> None:
    while _kept_open:
        _, connection = _kept_open.pop()
        connection.close()


atexit.register(_close_kept)


def remember_event_tables(instance: DagsterInstance) -> None:
    """Make the instance's event log remember which of its tables exist, once they have been seen.

    Public API missing: a way to skip `SqlEventLogStorage.has_table`, which
    Dagster calls for every asset event that carries an indexed tag, i.e.
    every materialization derived from a step's output (`dagster/data_version`),
    before inserting its `asset_event_tags` row (`_store_asset_event_tags` in
    `dagster/_core/storage/event_log/sql_event_log.py`, 1.13.27). On SQLite
    that opens a new engine and connection each time, on PostgreSQL (NullPool)
    a new connection: a 1,000-sprint run asks the same question 2,000 times.
    Only a table found to exist is remembered (Dagster never drops one while
    the instance is open); a missing one is asked again. Idempotent.
    """
    storage = instance.event_log_storage
    if not hasattr(storage, "has_table") or getattr(storage, _REMEMBERS_TABLES, False):
        return
    ask = storage.has_table
    present: set[str] = set()

    def has_table(table_name: str) -> bool:
        if table_name in present:
            return True
        found = bool(ask(table_name))
        if found:
            present.add(table_name)
        return found

    storage.has_table = has_table  # an attribute of this storage object only
    setattr(storage, _REMEMBERS_TABLES, True)


_REMEMBERS_TABLES = "_sprint_exports_remembers_tables"


def reuse_sqlite_event_log_engines(instance: DagsterInstance) -> None:
    """On the embedded SQLite instance, let the event log keep one SQLAlchemy engine per shard.

    Public API missing: as for `keep_sqlite_event_log_open`.
    `SqliteEventLogStorage._connect` (1.13.27) builds a new engine for every
    connection, and SQLAlchemy's compiled-statement cache lives in the
    engine, so every event's INSERTs are compiled afresh: a third of an event
    write's CPU here, and creating the engine another tenth. This is that
    method with the engine kept (still `NullPool`: a new SQLite connection
    each time, as before; same lock, same first-use `_initdb`, which a wipe
    re-arms by clearing `_initialized_dbs`), except that its connections
    commit with `synchronous=NORMAL` (see `_sqlite_event_engine`). At most
    ENGINES_KEPT shards keep one. Idempotent.
    """
    storage = instance.event_log_storage
    if not isinstance(storage, SqliteEventLogStorage) or getattr(storage, _REUSES_ENGINES, False):
        return
    engines: dict[str, Any] = {}

    @contextmanager
    def _connect(shard: str) -> Iterator[Any]:
        with storage._db_lock:  # noqa: SLF001 - see docstring
            engine = engines.pop(shard, None) or _sqlite_event_engine(storage.conn_string_for_shard(shard))
            engines[shard] = engine  # the most recent last
            while len(engines) > ENGINES_KEPT:
                engines.pop(next(iter(engines))).dispose()
            if shard not in storage._initialized_dbs:  # noqa: SLF001
                storage._initdb(engine)  # noqa: SLF001
                storage._initialized_dbs.add(shard)  # noqa: SLF001
            with engine.connect() as connection:
                with connection.begin():
                    yield connection

    storage._connect = _connect  # noqa: SLF001 - an attribute of this storage object only
    setattr(storage, _REUSES_ENGINES, True)


ENGINES_KEPT = 4


def _sqlite_event_engine(url: str) -> Any:
    """The engine Dagster's `_connect` builds, whose connections commit with `synchronous=NORMAL`.

    In WAL mode (Dagster's) SQLite then syncs the WAL at checkpoints, not at
    every commit: the database cannot be corrupted, a crash of the process
    loses nothing, and a power cut or OS crash may lose the last commits.
    What the embedded one-machine instance trades for it: an event write went
    from 6-9 ms of wall to 2-3 ms here, and from 2.7 to 1.8 ms of CPU.
    """
    engine = sqlite_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    sqlalchemy_event.listen(engine, "connect", _commit_without_sync)
    return engine


def _commit_without_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
_REUSES_ENGINES = "_sprint_exports_reuses_engines"


def is_sqlite_event_log(instance: DagsterInstance) -> bool:
    """Whether the instance's event log is the embedded SQLite one (Dagster's default)."""
    return isinstance(instance.event_log_storage, SqliteEventLogStorage)


def write_sqlite_event_batches(instance: DagsterInstance) -> None:
    """On the embedded SQLite instance, write a batch of one run's materializations in two
    transactions, as PostgreSQL's event log does, instead of one event (two transactions) at a time.

    Public API missing: `SqliteEventLogStorage` (1.13.27) inherits
    `EventLogStorage.store_event_batch`, which loops over `store_event`:
    each materialization commits to the run's shard, then again to the index
    shard, with the statements built, connections opened and the WAL written
    every time. This does for SQLite what `PostgresEventLogStorage.
    store_event_batch` does (`dagster_postgres/event_log/event_log.py`): one
    multi-row INSERT of the events, here into the run shard and again into
    the index shard (SQLite mirrors asset events there), the batch's asset
    event tags, and the asset table's last materialization, once per asset
    key, from the batch's last event of that key. Any other batch (other
    event types, several runs) goes to Dagster's own loop, and should this
    raise, Dagster falls back to writing the events one at a time. Idempotent.
    """
    storage = instance.event_log_storage
    if not isinstance(storage, SqliteEventLogStorage) or getattr(storage, _WRITES_BATCHES, False):
        return
    one_at_a_time = storage.store_event_batch

    def store_event_batch(events: Sequence[EventLogEntry]) -> None:
        kinds = {event.dagster_event_type for event in events}
        if not events or kinds != {DagsterEventType.ASSET_MATERIALIZATION} or len({e.run_id for e in events}) != 1:
            one_at_a_time(events)
            return
        for start in range(0, len(events), SQLITE_BATCH_ROWS):
            _store_materializations(storage, events[start : start + SQLITE_BATCH_ROWS])

    storage.store_event_batch = store_event_batch  # an attribute of this storage object only
    setattr(storage, _WRITES_BATCHES, True)


# Events per INSERT: SQLite binds at most 32,766 values a statement, an event row fewer than 10.
SQLITE_BATCH_ROWS = 1000
_WRITES_BATCHES = "_sprint_exports_writes_batches"


def _store_materializations(storage: SqliteEventLogStorage, events: Sequence[EventLogEntry]) -> None:
    statement = storage.prepare_insert_event_batch(events)
    with storage.run_connection(events[0].run_id) as connection:
        connection.execute(statement)
    with storage.index_transaction() as connection:
        inserted = connection.execute(statement.returning(SqlEventLogStorageTable.c.id)).fetchall()
        # One INSERT takes consecutive ids in the order of its rows; RETURNING gives them in no set order.
        event_ids = sorted(row[0] for row in inserted)
        storage._store_asset_event_tags(connection, events, event_ids)  # noqa: SLF001 - see write_sqlite_event_batches
        last: dict[AssetKey, tuple[EventLogEntry, int]] = {}
        for event, event_id in zip(events, event_ids, strict=True):
            last[event.get_dagster_event().asset_key] = (event, event_id)
        for event, event_id in last.values():
            storage._store_asset_event(connection, event, event_id)  # noqa: SLF001


def prepare_event_writes(instance: DagsterInstance, run_id: str) -> None:
    """What every sprint step does before its first materialization: the work-arounds above."""
    remember_event_tables(instance)
    reuse_sqlite_event_log_engines(instance)
    keep_sqlite_event_log_open(instance, run_id)
    write_sqlite_event_batches(instance)
