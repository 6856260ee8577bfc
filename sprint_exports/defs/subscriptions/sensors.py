"""`export_subscriptions_sensor`: launches the portal's due subscriptions as export runs.

A subscription is due when its cron (in its time zone) has ticked since it
was last launched; the cursor remembers each subscription's last tick, and
the run key (subscription, tick, sprint range) makes a re-evaluated tick
launch nothing twice. Each run exports for the subscription's owner with the
owner's signed `requested_by` tags, only sprints the owner may export, and
carries `sprint_exports/deliver_to`, so `export_delivery_sensor` mails it
through `deliver_exports_job` and its ledger.
"""

# No `from __future__ import annotations`: Dagster reads the sensor's type hints.

import datetime as dt
import json
import time

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from sprint_exports import names, settings, signing
from sprint_exports.access import export_refusals
from sprint_exports.defs.common.resources import TrackerDatabase
from sprint_exports.defs.exports.jobs import export_sprints_job
from sprint_exports.defs.exports.run_plan import export_selection, plan_runs, template_run_config
from sprint_exports.delivery.schedule_file import ScheduledExport, select_sprints
from sprint_exports.instance.dagster_private import previous_cron_tick
from sprint_exports.portal_db.database import open_portal_db
from sprint_exports.portal_db.subscriptions import Subscription, list_subscriptions
from sprint_exports.portal_db.user_templates import USER_TEMPLATE_PREFIX, find_template
from sprint_exports.source.readers import list_sprints


def _run_config(portal_db, subscription: Subscription) -> dict:
    if subscription.template.startswith(USER_TEMPLATE_PREFIX):
        found = find_template(portal_db, subscription.owner_email, subscription.template)
        if found is None:
            raise ValueError(f"Subscription {subscription.id}: template {subscription.template} is gone")
        return {"resources": {"report_template": {"config": {"inline": found.template.model_dump(mode="json")}}}}
    return template_run_config(subscription.template)


@sensor(
    job=export_sprints_job,
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.RUNNING,
    description="Launches the export portal's due subscriptions, for their owners, delivered by mail.",
)
def export_subscriptions_sensor(context: SensorEvaluationContext, tracker: TrackerDatabase):
    now = dt.datetime.now(dt.UTC)
    last_ticks: dict[str, str] = json.loads(context.cursor or "{}")
    portal_db = open_portal_db()
    engine = tracker.engine()
    requests = []
    try:
        subscriptions = list_subscriptions(portal_db, active_only=True)
        sprints = list_sprints(engine) if subscriptions else None
        for subscription in subscriptions:
            tick = previous_cron_tick(subscription.cron, now, subscription.timezone)
            if tick is None or tick < subscription.created_at or last_ticks.get(str(subscription.id)) == tick.isoformat():
                continue
            last_ticks[str(subscription.id)] = tick.isoformat()
            entry = ScheduledExport(name="subscription", cron=subscription.cron, timezone=subscription.timezone,
                                    teams=subscription.teams, sprints=subscription.sprints, formats=subscription.formats,
                                    recipients=subscription.recipients)
            previous = previous_cron_tick(subscription.cron, tick, subscription.timezone) or tick - dt.timedelta(days=1)
            wanted = select_sprints(entry, sprints, window=(previous, tick))
            refused = export_refusals(engine, subscription.owner_email, wanted)
            wanted = [sprint_id for sprint_id in wanted if sprint_id not in refused]
            if not wanted:
                context.log.info(f"Subscription {subscription.id}: no sprint to export at {tick.isoformat()}")
                continue
            run_config = _run_config(portal_db, subscription)
            for run in plan_runs(context.instance, wanted, sprints["id"].to_list()):
                requests.append(RunRequest(
                    run_key=f"subscription:{subscription.id}:{tick.isoformat()}:{run.label}",
                    partition_key=run.partition_key,
                    asset_selection=export_selection(subscription.formats),
                    run_config=run_config,
                    tags={
                        names.SCHEDULE: f"subscription:{subscription.id}",
                        names.DELIVER_TO: ",".join(subscription.recipients),
                        **run.range_tags,
                        **signing.requested_by_tags(settings.secret_key(), subscription.owner_email, list(run.partition_keys), int(time.time())),
                    },
                ))
    finally:
        portal_db.dispose()
    return SensorResult(run_requests=requests, cursor=json.dumps(last_ticks, sort_keys=True))
