"""The export store: folder layout, atomic writes, hashes and safe names."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from sprint_exports.formats import OutputFormat, get_format
from sprint_exports.exports.store import export_folder, slugify, write_export

CREATED = dt.datetime(2026, 11, 27, 8, 30, 5, tzinfo=dt.UTC)


def test_layout_hash_and_expiry(make_report, default_template, tmp_path):
    folder = export_folder(tmp_path, 3, CREATED, "6e626c40-f85e-4078")
    assert folder == tmp_path / "3" / "20261127T083005Z-6e626c40"
    export = write_export(make_report(3), default_template, get_format("csv"), folder, created_at=CREATED, retention_days=30)
    assert export.path == folder / "mobile-sprint-1.csv"
    assert export.sha256 == hashlib.sha256(export.path.read_bytes()).hexdigest()
    assert export.size_bytes == export.path.stat().st_size
    assert export.expires_at == CREATED + dt.timedelta(days=30)
    assert [p.name for p in folder.iterdir()] == ["mobile-sprint-1.csv"]


def test_a_failing_renderer_leaves_nothing_behind(make_report, default_template, tmp_path):
    def half_then_crash(report, template, path):
        path.write_text("Key,Summary\r\nPLAT-1,half a fi")
        raise RuntimeError("disk on fire")

    broken = OutputFormat("csv", "csv", "text/csv", half_then_crash)
    folder = export_folder(tmp_path, 1, CREATED, "run")
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_export(make_report(1), default_template, broken, folder, created_at=CREATED, retention_days=30)
    assert list(tmp_path.rglob("*")) == []


@pytest.mark.parametrize(
    "name, slug",
    [
        ("Platform Sprint 3", "platform-sprint-3"),
        ("../../etc/passwd", "etc-passwd"),
        ("Спринт 🚀", "sprint-9"),
        ("Zoë's \"big\" sprint / Q1", "zoe-s-big-sprint-q1"),
    ],
)
def test_slugs_never_leave_the_folder(name, slug):
    assert slugify(name, "sprint-9") == slug


def test_run_id_cannot_steer_the_folder(tmp_path):
    folder = export_folder(tmp_path, 1, CREATED, "../../x")
    assert folder.parent == tmp_path / "1"
