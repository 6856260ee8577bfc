"""The tracker database, shared by the export assets, schedules, sensors and delivery.

Where the data comes from is deployment configuration: SPRINT_SOURCE_URL in
the code location's environment (see `sprint_exports.settings`). The
resource has no config fields, so no launch (Launchpad, GraphQL, a
re-execution) can point it at another database, and a URL with a password
never appears in run config or in the UI.
"""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import PrivateAttr
from sqlalchemy import Engine

from sprint_exports import settings
from sprint_exports.source.database import connect


class TrackerDatabase(ConfigurableResource):
    """The agile tracker's database (read only): SPRINT_SOURCE_URL. Not settable in run config."""

    _engine: Engine | None = PrivateAttr(default=None)

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = connect(settings.source_url())
        return self._engine

    def teardown_after_execution(self, context) -> None:
        if self._engine is not None:
            self._engine.dispose()
