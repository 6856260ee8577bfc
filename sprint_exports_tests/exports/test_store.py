"""The export store: folder layout, atomic writes, hashes and safe names."""

from __future__ import annotations

import datetime as dt
import unicodedata
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
        ("Спринт 🚀", "спринт"),
        ("スプリント 7", "スプリント-7"),
        ("مرحلة ١", "مرحلة-١"),
        ("प्रगति स्प्रिंट", "प्रगति-स्प्रिंट"),
        ("Zoë's \"big\" sprint / Q1", "zoë-s-big-sprint-q1"),
        ("🚀 . . .", "sprint-9"),
        ("CON", "con-sprint"),
        ("com7", "com7-sprint"),
        ("LPT1 ", "lpt1-sprint"),
        ("nul.csv", "nul-csv"),
        ("C:\\Windows\\system32", "c-windows-system32"),
    ],
)
def test_slugs_never_leave_the_folder(name, slug):
    assert slugify(name, "sprint-9") == slug


@pytest.mark.parametrize("name", ["Ω" * 300, "日本" * 200, "a" * 1000, "ก" * 300 + "\u0e34" * 300])
def test_file_names_fit_255_bytes_even_while_being_written(name, make_report, default_template, tmp_path):
    import dataclasses

    report = make_report(3)
    report = dataclasses.replace(report, sprint=dataclasses.replace(report.sprint, name=name))
    export = write_export(report, default_template, get_format("xlsx"), tmp_path, created_at=CREATED, retention_days=30)
    assert len(export.path.name.encode("utf-8")) <= 255
    assert len(f".{export.path.name}.{2**22}.partial".encode("utf-8")) <= 255, "the temporary name fits too"
    assert export.path.name == unicodedata.normalize("NFC", export.path.name)
    assert not export.path.stem.endswith((".", " "))


def test_run_id_cannot_steer_the_folder(tmp_path):
    folder = export_folder(tmp_path, 1, CREATED, "../../x")
    assert folder.parent == tmp_path / "1"
