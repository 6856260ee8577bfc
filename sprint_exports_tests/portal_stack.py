"""The portal's whole stack for end-to-end tests: aiosmtpd, a live `dagster dev`, the portal on uvicorn.

The portal's address is chosen before `dagster dev` starts, so delivery mail and the
`download_url` metadata link to it. The portal runs in the test process (same DAGSTER_HOME).

    with portal_stack(tmp_path, demo_url) as stack:
        httpx.get(stack["portal"].url + "/login")
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


@contextlib.contextmanager
def portal_stack(base: Path, demo_url: str) -> Iterator[dict]:
    home = base / "home"
    home.mkdir()
    (base / "templates").mkdir()  # the templates folder must exist (settings.templates_dir)
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    smtp = SmtpTestServer(base, tls=False, auth=False).start()
    portal_port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DAGSTER_", "SPRINT_", "SMTP_"))}
    env.update(DAGSTER_HOME=str(home), SPRINT_SOURCE_URL=demo_url, SPRINT_EXPORTS_DIR=str(base / "exports"),
               SPRINT_EXPORT_SCHEDULES=str(base / "no-schedules.yaml"), SPRINT_EXPORT_TEMPLATES_DIR=str(base / "templates"),
               SPRINT_DELIVERY_LEDGER_URL=f"sqlite:///{base / 'ledger.sqlite'}", SPRINT_EXPORTS_SECRET_KEY="test-" + "k" * 40,
               SPRINT_EXPORTS_EXECUTOR="in_process", SPRINT_EXPORTS_PORTAL_URL=f"http://127.0.0.1:{portal_port}",
               PYTHONUNBUFFERED="1", **smtp.environment())
    saved = {name: os.environ.get(name) for name in env if name.startswith(("DAGSTER_", "SPRINT_", "SMTP_"))}
    os.environ.update({name: env[name] for name in saved})
    dev = DagsterDev(env=env, log_path=base / "dagster_dev.log").start()
    portal = untrusted = None
    try:
        dev.wait_until_ready()
        portal = PortalServer({"dagster_url": f"{dev.url}/graphql"}, port=portal_port).start()
        # The SSO header is honoured only from 10.9.9.9; the tests connect from 127.0.0.1.
        untrusted = PortalServer({"auth_header": "X-Forwarded-Email", "trusted_proxies": ("10.9.9.9",)}).start()
        yield {"dev": dev, "portal": portal, "untrusted": untrusted, "smtp": smtp, "env": env, "base": base}
    finally:
        for server in (portal, untrusted):
            if server is not None:
                server.stop()
        dev.stop()
        smtp.stop()
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


