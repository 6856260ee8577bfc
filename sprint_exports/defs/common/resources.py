"""The tracker database, shared by the export assets, schedules, sensors and delivery.

It reads its default from the environment at use time (see
`sprint_exports.settings`), so a source URL with a password never appears in
run config or in the UI.
"""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import PrivateAttr
from sqlalchemy import Engine

from sprint_exports import settings
from sprint_exports.source.database import connect


class TrackerDatabase(ConfigurableResource):
    """The agile tracker's database (read only). `url` defaults to SPRINT_SOURCE_URL."""

    url: str | None = None
    _engine: Engine | None = PrivateAttr(default=None)

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = connect(self.url or settings.source_url())
        return self._engine

    def teardown_after_execution(self, context) -> None:
        if self._engine is not None:
            self._engine.dispose()
