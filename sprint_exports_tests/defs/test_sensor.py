"""`sprint_partitions_sensor` against a real instance and the demo tracker."""

from __future__ import annotations

import datetime as dt

import pytest
from dagster import build_sensor_context, instance_for_test
from sqlalchemy import create_engine, update

from sprint_exports.definitions import defs
from sprint_exports.defs.common.resources import TrackerDatabase
from sprint_exports.source import schema


@pytest.fixture
def tracker_url(seeded_tracker):
    return seeded_tracker(6, 5)


def evaluate(instance, cursor=None):
    sensor = defs.resolve_sensor_def("sprint_partitions_sensor")
    with build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources={"tracker": TrackerDatabase()}
    ) as context:
        return sensor(context)


def test_first_tick_registers_every_sprint_without_runs(tracker_url):
    with instance_for_test() as instance:
        result = evaluate(instance)
        assert result.run_requests == []
        (request,) = result.dynamic_partitions_requests
        assert request.partitions_def_name == "sprints"
        assert list(request.partition_keys) == ["1", "2", "3", "4", "5", "6"]
        assert result.cursor is not None

        instance.add_dynamic_partitions("sprints", list(request.partition_keys))
        again = evaluate(instance, result.cursor)
        assert again.dynamic_partitions_requests == [] and again.run_requests == []


def test_a_sprint_that_becomes_completed_is_exported_once(tracker_url):
    with instance_for_test() as instance:
        first = evaluate(instance)
        instance.add_dynamic_partitions("sprints", list(first.dynamic_partitions_requests[0].partition_keys))
        engine = create_engine(tracker_url)
        finished = dt.datetime(2026, 12, 1, 17, 0)
        with engine.begin() as connection:
            connection.execute(
                update(schema.sprints).where(schema.sprints.c.id == 4).values(status="completed", updated_at=finished)
            )
            connection.execute(schema.sprints.insert().values(
                id=7, team_id=1, name="Platform Sprint 9", status="planned",
                start_date=dt.date(2026, 12, 7), end_date=dt.date(2026, 12, 20), updated_at=finished,
            ))
        engine.dispose()
        second = evaluate(instance, first.cursor)
        assert [(r.partition_key, r.run_key) for r in second.run_requests] == [("4", "4:2026-12-01T17:00:00")]
        assert list(second.dynamic_partitions_requests[0].partition_keys) == ["7"]
        third = evaluate(instance, second.cursor)
        assert third.run_requests == []
