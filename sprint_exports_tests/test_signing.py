"""The signing core (no Dagster): a requested_by signature binds the person, the sprints and the time."""

from __future__ import annotations

import re

import pytest

from sprint_exports.signing import REQUESTED_BY_VALID_SECONDS, SignatureError, mac, sign_requested_by, verify_requested_by

KEY = b"k" * 32
NOW = 1_800_000_000


def test_a_signature_verifies_for_the_same_person_sprints_and_time():
    signature = sign_requested_by(KEY, "Ana@Example.com ", ["2", "10", "1"], NOW)
    assert signature.startswith(f"v1:{NOW}:") and len(signature.split(":")[2]) == 64
    verify_requested_by(KEY, "ana@example.com", ["1", "2", "10"], signature, launched_at=NOW + 5)


@pytest.mark.parametrize(
    "email, sprints, key, launched_at, reason",
    [
        ("zoe@example.com", ["1"], KEY, NOW, "made for another person or other sprints"),
        ("ana@example.com", ["1", "2"], KEY, NOW, "this run's sprints (1,2)"),
        ("ana@example.com", ["1"], b"x" * 32, NOW, "it is forged"),
        ("ana@example.com", ["1"], KEY, NOW + REQUESTED_BY_VALID_SECONDS + 1, "the signature expired"),
        ("ana@example.com", ["1"], KEY, NOW - 3600, "after the run was launched"),
    ],
    ids=["other-person", "other-sprints", "other-key", "expired", "from-the-future"],
)
def test_a_signature_proves_nothing_for_anything_else(email, sprints, key, launched_at, reason):
    signature = sign_requested_by(KEY, "ana@example.com", ["1"], NOW)
    with pytest.raises(SignatureError, match=re.escape(reason)):
        verify_requested_by(key, email, sprints, signature, launched_at=launched_at)


@pytest.mark.parametrize("signature", [None, "", "v1:abc:def", f"v2:{NOW}:" + "0" * 64, "v1:1:" + "0" * 63])
def test_missing_or_malformed_signatures_are_refused(signature):
    with pytest.raises(SignatureError):
        verify_requested_by(KEY, "ana@example.com", ["1"], signature, launched_at=NOW)


def test_fields_cannot_run_into_each_other():
    assert mac(KEY, "p", "a,b", "c") != mac(KEY, "p", "a", "b,c")
    assert mac(KEY, "p", "ab", "") != mac(KEY, "p", "a", "b")
