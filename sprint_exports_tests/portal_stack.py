"""The portal's whole stack for end-to-end tests: aiosmtpd, a live `dagster dev`, the portal on uvicorn.

The portal's address is chosen before `dagster dev` starts, so delivery mail and the
`download_url` metadata link to it. The portal runs in the test process (same DAGSTER_HOME).

    with portal_stack(tmp_path, demo_url) as stack:
        httpx.get(stack["portal"].url + "/login")

`portal_environment` is the same setting without `dagster dev`, for tests of sign-in and
forms that launch nothing: it yields the SMTP server and the environment, and tests start
their own `PortalServer`s in it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from sprint_exports_tests.dagster_dev import REPO_ROOT, DagsterDev, free_port
from sprint_exports_tests.portal_server import PortalServer
from sprint_exports_tests.smtp_server import SmtpTestServer

OWN_PREFIXES = ("DAGSTER_", "SPRINT_", "SMTP_")


@contextlib.contextmanager
def portal_environment(base: Path, demo_url: str, portal_port: int) -> Iterator[dict]:
    """A fresh instance folder, the demo tracker and aiosmtpd, set in this process's environment too."""
    home = base / "home"
    home.mkdir()
    (base / "templates").mkdir()  # the templates folder must exist (settings.templates_dir)
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    smtp = SmtpTestServer(base, tls=False, auth=False).start()
    env = {name: value for name, value in os.environ.items() if not name.startswith(OWN_PREFIXES)}
    env.update(DAGSTER_HOME=str(home), SPRINT_SOURCE_URL=demo_url, SPRINT_EXPORTS_DIR=str(base / "exports"),
               SPRINT_EXPORT_SCHEDULES=str(base / "no-schedules.yaml"), SPRINT_EXPORT_TEMPLATES_DIR=str(base / "templates"),
               SPRINT_DELIVERY_LEDGER_URL=f"sqlite:///{base / 'ledger.sqlite'}", SPRINT_EXPORTS_SECRET_KEY="test-" + "k" * 40,
               SPRINT_EXPORTS_EXECUTOR="in_process", SPRINT_EXPORTS_PORTAL_URL=f"http://127.0.0.1:{portal_port}",
               PYTHONUNBUFFERED="1", **smtp.environment())
    saved = {name: os.environ.get(name) for name in env if name.startswith(OWN_PREFIXES)}
    os.environ.update({name: env[name] for name in saved})
    try:
        yield {"smtp": smtp, "env": env, "base": base}
    finally:
        smtp.stop()
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


@contextlib.contextmanager
def portal_stack(base: Path, demo_url: str) -> Iterator[dict]:
    portal_port = free_port()
    with portal_environment(base, demo_url, portal_port) as setting:
        dev = DagsterDev(env=setting["env"], log_path=base / "dagster_dev.log").start()
        portal = None
        try:
            dev.wait_until_ready()
            portal = PortalServer({"dagster_url": f"{dev.url}/graphql"}, port=portal_port).start()
            yield {**setting, "dev": dev, "portal": portal}
        finally:
            if portal is not None:
                portal.stop()
            dev.stop()
