"""The export door of the access policy: refuse a run before it reads or writes anything.

A run tagged `sprint_exports/requested_by` (from the UI's tag editor, the
GraphQL API or `sprint-exports export --as EMAIL`) exports for that person.
Every sprint asset requires the `access_check` resource, and Dagster sets
resources up before any step body runs, so a refusal fails the run with no
file written.
"""

from __future__ import annotations

from dagster import ConfigurableResource, Failure, InitResourceContext

from sprint_exports import names, settings
from sprint_exports.access import AccessRefused, export_refusals
from sprint_exports.defs.exports.partitions import sprint_id_of
from sprint_exports.defs.exports.run_plan import run_partition_keys
from sprint_exports.source.database import connect


class RequesterCheck(ConfigurableResource):
    """Refuses runs whose `requested_by` person may not export their sprints (see `access.py`)."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        run = context.run
        email = run.tags.get(names.REQUESTED_BY, "").strip() if run else ""
        if not email:
            return
        sprint_ids = [sprint_id_of(key) for key in run_partition_keys(context.instance, run.tags)]
        engine = connect(settings.source_url())
        try:
            refusals = export_refusals(engine, email, sprint_ids)
        finally:
            engine.dispose()
        if refusals:
            raise Failure(str(AccessRefused(email, refusals)).replace(f"for {email}:", f"for {email} ({names.REQUESTED_BY}):", 1))
