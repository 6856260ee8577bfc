"""Environment settings: each checked where it is read, with a message naming the variable, the value and
what is allowed, before any step and without a traceback; and the secret key's demo and production rules."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import instance_for_test

from sprint_exports import settings
from sprint_exports.instance.runner import export_sprints

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sprint_exports", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def load_definitions(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sprint_exports.definitions"], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120, cwd=REPO)


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("SPRINT_EXPORTS_RETENTION_DAYS", "99999999999", "SPRINT_EXPORTS_RETENTION_DAYS='99999999999' is not allowed: use a whole number of days from 1 to 3650"),
        ("SPRINT_EXPORTS_RETENTION_DAYS", "3000000", "SPRINT_EXPORTS_RETENTION_DAYS='3000000' is not allowed"),
        ("SPRINT_EXPORTS_RETENTION_DAYS", "0", "SPRINT_EXPORTS_RETENTION_DAYS='0' is not allowed"),
        ("SPRINT_EXPORTS_RENDER_PROCESSES", "0", "SPRINT_EXPORTS_RENDER_PROCESSES='0' is not allowed: use a whole number from 1 to 1024"),
        ("SPRINT_EXPORTS_RENDER_PROCESSES", "lots", "SPRINT_EXPORTS_RENDER_PROCESSES='lots' is not allowed"),
    ],
)
def test_bad_export_settings_refuse_the_run_before_any_step(variable, value, message, demo_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv(variable, value)
    with instance_for_test() as instance:
        (outcome,) = export_sprints(instance, [1, 2], ["csv"])
        assert not outcome.success and message in outcome.error, outcome.error
        assert outcome.error.startswith("run start failed: Run refused before any step")
        started = [e.step_key for e in instance.all_logs(outcome.run_id) if e.is_dagster_event and e.dagster_event.is_step_start]
        assert started == [], "sprint_extract and sprint_metrics did not run"
        assert instance.get_latest_materialization_event(__import__("dagster").AssetKey("sprint_extract")) is None
    assert not (tmp_path / "exports").exists()


def test_the_cli_names_a_bad_retention_without_a_traceback(tmp_path):
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "SPRINT_EXPORTS_DIR": str(tmp_path / "exports"), "SPRINT_SOURCE_URL": "",
           "SPRINT_EXPORTS_RETENTION_DAYS": "99999999999"}
    done = cli("export", "--sprint", "1", "--formats", "csv", env=env)
    assert done.returncode == 1
    assert "SPRINT_EXPORTS_RETENTION_DAYS='99999999999' is not allowed: use a whole number of days from 1 to 3650" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout and "OverflowError" not in done.stderr


def test_a_bad_smtp_port_is_named_before_anything_is_sent(tmp_path):
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "SPRINT_EXPORTS_DIR": str(tmp_path / "exports"), "SPRINT_SOURCE_URL": "",
           "SPRINT_DELIVERY_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}"}
    exported = cli("export", "--sprint", "1", "--formats", "csv", env=env)
    assert exported.returncode == 0, exported.stderr
    run_id = next(line.split()[1].rstrip(":") for line in exported.stdout.splitlines() if line.startswith("Run "))
    done = cli("deliver", run_id, "--to", "ana@example.com", env={**env, "SMTP_PORT": "abc"})
    assert done.returncode == 1
    assert "SMTP_PORT='abc' is not allowed: use a port number from 1 to 65535" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("SMTP_PORT", "abc", "SMTP_PORT='abc' is not allowed: use a port number from 1 to 65535"),
        ("SMTP_PORT", "99999999999999", "SMTP_PORT='99999999999999' is not allowed"),
        ("SMTP_SECURITY", "tls", "SMTP_SECURITY='tls' is not allowed: use one of none, starttls, ssl"),
        ("SMTP_TIMEOUT_SECONDS", "nan", "SMTP_TIMEOUT_SECONDS='nan' is not allowed"),
        ("SMTP_MAX_ATTEMPTS", "1000", "SMTP_MAX_ATTEMPTS='1000' is not allowed"),
        ("SMTP_CA_FILE", "/no/such/ca.pem", "SMTP_CA_FILE='/no/such/ca.pem' is not allowed"),
    ],
)
def test_smtp_settings_name_the_bad_value(variable, value, message, monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(settings.SettingError) as raised:
        settings.smtp_settings()
    assert message in str(raised.value)


def test_the_smtp_password_never_appears_in_a_message(monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-password")
    monkeypatch.setenv("SMTP_PORT", "abc")
    with pytest.raises(settings.SettingError) as raised:
        settings.smtp_settings()
    assert "s3cret-password" not in str(raised.value)


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_a_templates_dir_that_is_not_a_folder_is_refused(kind, tmp_path):
    target = tmp_path / "templates.yaml"
    if kind == "file":
        target.write_text("name: x\n")
    message = f"SPRINT_EXPORT_TEMPLATES_DIR='{target}' is not allowed: " + ("it is a file, not a folder" if kind == "file" else "no such folder")
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "SPRINT_EXPORT_TEMPLATES_DIR": str(target)}
    listed = cli("templates", "list", env=env)
    assert listed.returncode != 0 and message in listed.stderr and "Traceback" not in listed.stderr
    loaded = load_definitions(env)
    assert loaded.returncode != 0 and message in loaded.stderr


def test_the_demo_generates_a_private_secret_key_once(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv(settings.SECRET_KEY_ENV, raising=False)
    key = settings.secret_key()
    path = tmp_path / settings.SECRET_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32 and settings.secret_key() == key, "the same key every time"
    path.chmod(0o644)
    with pytest.raises(settings.SettingError, match="other users may read it"):
        settings.secret_key()


def test_a_short_secret_key_is_refused_without_showing_it(monkeypatch):
    monkeypatch.setenv(settings.SECRET_KEY_ENV, "tooshort")
    with pytest.raises(settings.SettingError) as raised:
        settings.secret_key()
    assert "SPRINT_EXPORTS_SECRET_KEY is not allowed" in str(raised.value) and "tooshort" not in str(raised.value)


@pytest.mark.parametrize("deployment", ["postgres", "celery"])
def test_production_refuses_to_load_without_a_secret_key(deployment, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"DAGSTER_HOME": str(home), "SPRINT_EXPORTS_SECRET_KEY": ""}
    if deployment == "postgres":
        (home / "dagster.yaml").write_text((REPO / "deploy/postgres/dagster.yaml").read_text())
        reason = "keeps its storage in postgres, not the embedded SQLite default"
    else:
        env["SPRINT_EXPORTS_EXECUTOR"] = "celery"
        reason = "SPRINT_EXPORTS_EXECUTOR=celery runs steps on other machines"
    refused = load_definitions(env)
    assert refused.returncode != 0
    assert "SPRINT_EXPORTS_SECRET_KEY is not set, and" in refused.stderr and reason in refused.stderr
    assert not (home / settings.SECRET_KEY_FILE).exists(), "production never falls back to a generated key"
    loaded = load_definitions({**env, "SPRINT_EXPORTS_SECRET_KEY": "k" * 40})
    assert loaded.returncode == 0, loaded.stderr
