"""The portal database on first use: the portal and the subscription sensor's code server may open a fresh
one at the same moment, and neither may fail for it (they did: "table sign_in_links already exists")."""

from __future__ import annotations

import subprocess
import sys
import time

OPENER = """
import pathlib, sys, time
from sprint_exports.portal_db.database import open_portal_db
go = pathlib.Path(sys.argv[2])
while not go.exists():  # every process imported and waits: then all create the tables at once
    time.sleep(0.005)
open_portal_db(sys.argv[1]).dispose()
"""


def test_many_processes_open_a_fresh_portal_database_at_once(tmp_path):
    url, go = f"sqlite:///{tmp_path / 'portal.sqlite'}", tmp_path / "go"
    openers = [subprocess.Popen([sys.executable, "-c", OPENER, url, str(go)], stderr=subprocess.PIPE, text=True) for _ in range(8)]
    time.sleep(3)  # the imports
    go.touch()
    failures = [error for error in (opener.communicate(timeout=60)[1] for opener in openers) if error.strip()]
    assert [opener.returncode for opener in openers] == [0] * 8, failures[0][-2000:]
