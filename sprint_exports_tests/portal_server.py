"""Run the portal on a free loopback port with a real uvicorn server, in a thread of the test process."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import httpx
import uvicorn

from sprint_exports.portal.app import create_app
from sprint_exports.portal.config import PortalConfig
from sprint_exports.portal_db.database import utc_now
from sprint_exports_tests.dagster_dev import free_port


class PortalServer:
    def __init__(self, config_overrides: dict, port: int | None = None, clock: Callable[[], dt.datetime] = utc_now):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = PortalConfig(**{"portal_url": self.url, **config_overrides})  # a public URL may be given
        self.server = uvicorn.Server(uvicorn.Config(create_app(self.config, clock), host="127.0.0.1", port=self.port,
                                                    log_level="warning", proxy_headers=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> PortalServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/login", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"portal did not answer on {self.url}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> PortalServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
