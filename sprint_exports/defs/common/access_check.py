"""The export door of the access policy: refuse a run before it reads or writes anything.

Every sprint asset requires the `access_check` resource, and Dagster sets
resources up before any step body runs (in every step's process, whatever the
executor), so a refusal fails the run with no file written. In this order it
refuses a run:

1. whose run config reads the environment, or whose settings or options are
   not allowed (`run_start.py`);
2. tagged `sprint_exports/requested_by` without a valid
   `sprint_exports/requested_by_signature` for that person and the run's
   sprints (`signing.py`): forged, copied from another run, or expired;
3. whose requester may not export one of its sprints (`access.py`).

A run without `sprint_exports/requested_by` is an operator's run: whoever can
launch runs in the full webserver is an operator.
"""

from __future__ import annotations

from dagster import ConfigurableResource, Failure, InitResourceContext

from sprint_exports import names, settings
from sprint_exports.access import AccessRefused, export_refusals
from sprint_exports.defs.common.run_start import check_export_run, launched_at, refuse_environment_reads
from sprint_exports.defs.exports.partitions import sprint_id_of
from sprint_exports.defs.exports.run_plan import run_partition_keys
from sprint_exports.signing import SignatureError, verify_requested_by
from sprint_exports.source.database import connect


class RequesterCheck(ConfigurableResource):
    """Refuses, before any step, runs with bad options or settings, unproven requesters, or requesters who may not
    export their sprints. No configuration: it reads the run's tags and the code location's environment."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        run = context.run
        if run is None:
            return
        refuse_environment_reads(run)
        check_export_run(run)
        email = run.tags.get(names.REQUESTED_BY, "").strip()
        if not email:
            return
        keys = run_partition_keys(context.instance, run.tags)
        refused = f"Export refused for {email} ({names.REQUESTED_BY})"
        try:
            verify_requested_by(
                settings.secret_key(), email, keys, run.tags.get(names.REQUESTED_BY_SIGNATURE), launched_at(context.instance, run)
            )
        except (SignatureError, settings.SettingError) as error:
            raise Failure(f"{refused}: {error}") from None
        sprint_ids = [sprint_id_of(key) for key in keys]
        engine = connect(settings.source_url())
        try:
            refusals = export_refusals(engine, email, sprint_ids)
        finally:
            engine.dispose()
        if refusals:
            raise Failure(str(AccessRefused(email, refusals, via=f" ({names.REQUESTED_BY})")))
