"""The access policy, and the export door: runs for a person carry a signed requested_by, and are refused
before writing when it is not valid or the person may not see a sprint."""

from __future__ import annotations

import time

import pytest
from dagster import instance_for_test

from sprint_exports import names, settings
from sprint_exports.access import AccessPolicy, AccessRefused
from sprint_exports.instance.runner import export_sprints
from sprint_exports.signing import REQUESTED_BY_VALID_SECONDS, sign_requested_by
from sprint_exports.source.database import connect

PLATFORM, PAYMENTS = 1, 2  # demo team ids; demo sprint 1 is Platform's, sprint 2 Payments'
PEOPLE = {
    "admin": "ana@example.com",          # admin (and a Platform member)
    "other_admin": "dana@example.com",   # admin in no team
    "platform": "li.wei@example.com",    # member of Platform only
    "payments": "zoe@example.com",       # member of Payments only
    "unknown": "ghost@example.com",
}


@pytest.fixture(scope="module")
def policy(demo_url):
    engine = connect(demo_url)
    yield AccessPolicy.load(engine)
    engine.dispose()


@pytest.mark.parametrize(
    "who, team, allowed, reason",
    [
        ("admin", PAYMENTS, True, "ana@example.com is an admin"),
        ("other_admin", PLATFORM, True, "dana@example.com is an admin"),
        ("platform", PLATFORM, True, "li.wei@example.com is a member of Platform"),
        ("platform", PAYMENTS, False, "li.wei@example.com is not a member of Payments and not an admin"),
        ("payments", PLATFORM, False, "zoe@example.com is not a member of Platform and not an admin"),
        ("unknown", PLATFORM, False, "ghost@example.com is not a user of the tracker"),
    ],
)
def test_policy_rules(policy, who, team, allowed, reason):
    decision = policy.decide(PEOPLE[who], team)
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_emails_compare_case_insensitively(policy):
    assert policy.decide("Li.Wei@Example.COM", PLATFORM).allowed


@pytest.mark.parametrize("who, allowed", [("admin", True), ("platform", True), ("payments", False), ("unknown", False)])
def test_export_runs_are_refused_before_any_file(who, allowed, demo_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    with instance_for_test() as instance:
        (outcome,) = export_sprints(instance, [1], ["csv"], requested_by=PEOPLE[who], check_access_first=False)
        assert outcome.success is allowed
        if allowed:
            assert (tmp_path / "exports" / "1").is_dir()
        else:
            assert f"Export refused for {PEOPLE[who]}" in outcome.error
            assert not (tmp_path / "exports").exists(), "nothing written"
            steps = [e.step_key for e in instance.all_logs(outcome.run_id) if e.is_dagster_event and e.dagster_event.is_step_start]
            assert steps == [], "no step ran"


def test_a_range_run_is_refused_if_any_sprint_is_off_limits(demo_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    with instance_for_test() as instance:
        (outcome,) = export_sprints(instance, [1, 2, 3], ["csv"], requested_by=PEOPLE["platform"], check_access_first=False)
        assert not outcome.success
        assert "sprint 2: li.wei@example.com is not a member of Payments" in outcome.error
        assert "sprint 3: li.wei@example.com is not a member of Mobile" in outcome.error
        assert not (tmp_path / "exports").exists()


def test_the_command_line_decides_every_sprint_before_any_run(demo_url, tmp_path, monkeypatch):
    """Sprints 1 and 4 are Platform's, 2 is Payments': nothing is exported, and only sprint 2 is named."""
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    with instance_for_test() as instance:
        with pytest.raises(AccessRefused) as refused:
            export_sprints(instance, [1, 2, 4], ["csv"], requested_by=PEOPLE["platform"])
        assert refused.value.refusals == {2: "li.wei@example.com is not a member of Payments and not an admin"}
        assert "sprint 1" not in str(refused.value) and "sprint 4" not in str(refused.value)
        assert instance.get_runs() == [], "no run started"
        assert not (tmp_path / "exports").exists(), "nothing written"


def test_export_as_cli_refuses_naming_the_sprints_and_exports_nothing(demo_url, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "SPRINT_SOURCE_URL": demo_url, "SPRINT_EXPORTS_DIR": str(tmp_path / "exports"),
           "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "sprint-exports"), "export", "--sprint", "4", "--sprint", "6", "--sprint", "5",
         "--formats", "csv", "--as", PEOPLE["platform"]],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "Export refused for li.wei@example.com: sprint 5: li.wei@example.com is not a member of Payments" in done.stderr
    assert "sprint 6: li.wei@example.com is not a member of Mobile" in done.stderr and "sprint 4:" not in done.stderr
    assert not (tmp_path / "exports").exists() and "Exporting" not in done.stderr


def steps_run(instance, run_id: str) -> list[str]:
    return [e.step_key for e in instance.all_logs(run_id) if e.is_dagster_event and e.dagster_event.is_step_start]


def signed(email: str, sprint_keys: list[str], issued_at: int | None = None) -> dict[str, str]:
    signature = sign_requested_by(settings.secret_key(), email, sprint_keys, int(time.time()) if issued_at is None else issued_at)
    return {names.REQUESTED_BY: email, names.REQUESTED_BY_SIGNATURE: signature}


@pytest.mark.parametrize(
    "make_tags, reason",  # callables: the key is the session's, known only once the fixtures ran
    [
        (lambda: {names.REQUESTED_BY: PEOPLE["admin"]}, "the run has no sprint_exports/requested_by_signature tag"),
        (lambda: {names.REQUESTED_BY: PEOPLE["admin"], names.REQUESTED_BY_SIGNATURE: f"v1:{int(time.time())}:" + "0" * 64},
         "it is forged"),
        (lambda: {names.REQUESTED_BY: PEOPLE["admin"], names.REQUESTED_BY_SIGNATURE: "admin, trust me"}, "is not of the form v1:"),
        (lambda: signed(PEOPLE["admin"], ["2"]), "does not match ana@example.com and this run's sprints (1)"),
        (lambda: {**signed(PEOPLE["platform"], ["1"]), names.REQUESTED_BY: PEOPLE["admin"]}, "made for another person"),
        (lambda: signed(PEOPLE["admin"], ["1"], issued_at=int(time.time()) - REQUESTED_BY_VALID_SECONDS - 120),
         "the signature expired"),
    ],
    ids=["unsigned", "forged", "malformed", "other-sprints", "other-person", "expired"],
)
def test_a_requester_without_a_valid_signature_is_refused_before_any_step(make_tags, reason, demo_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    with instance_for_test() as instance:
        (outcome,) = export_sprints(instance, [1], ["csv"], tags=make_tags())
        assert not outcome.success
        assert "Export refused for" in outcome.error and reason in outcome.error, outcome.error
        assert steps_run(instance, outcome.run_id) == []
        assert not (tmp_path / "exports").exists()


def test_a_valid_signature_from_outside_the_cli_is_honoured(demo_url, tmp_path, monkeypatch):
    """What the portal will do: sign with the shared key, launch with both tags."""
    monkeypatch.setenv("SPRINT_SOURCE_URL", demo_url)
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", str(tmp_path / "exports"))
    with instance_for_test() as instance:
        (outcome,) = export_sprints(instance, [1], ["csv"], tags=signed(PEOPLE["platform"], ["1"]))
        assert outcome.success, outcome.error
