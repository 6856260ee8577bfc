"""A real S3-compatible server for tests: moto's standalone server on a free loopback port.

Not an in-process mock: the code under test talks HTTP to it through s3fs and
botocore exactly as it would to MinIO or AWS, configured only by the standard
variables (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...). On CI the tests that
need it must run; on a laptop without moto they skip with a printed reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sprint_exports_tests.conftest import services_required
from sprint_exports_tests.smtp_server import free_port

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sprint-exports-test", "AWS_SECRET_ACCESS_KEY": "sprint-exports-test-secret"}


def s3_environment(endpoint: str) -> dict[str, str]:
    """What a process (a test, a Celery worker) needs to reach the test server, and nothing of the real AWS."""
    return {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": REGION}


@dataclass
class S3Bucket:
    """One fresh bucket on the test server and a boto3 client to look into it from outside."""

    endpoint: str
    bucket: str
    client: object

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1:<free port>, for the whole session."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        message = f"moto[server] is not installed ({error}); `make install` brings it"
        if services_required():
            pytest.fail(f"{message} (required on CI)")
        print(f"\nSKIPPING S3 tests: {message}")
        pytest.skip(message)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch) -> S3Bucket:
    """A new bucket, with this process's AWS_* variables pointing at the test server."""
    import boto3

    for name, value in s3_environment(s3_endpoint).items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **{
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]})
    bucket = f"exports-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Bucket(s3_endpoint, bucket, client)


@pytest.fixture
def s3_exports(s3_bucket, monkeypatch) -> S3Bucket:
    """SPRINT_EXPORTS_DIR=s3://<new bucket>/team-exports for this test."""
    monkeypatch.setenv("SPRINT_EXPORTS_DIR", f"s3://{s3_bucket.bucket}/team-exports")
    assert os.environ["AWS_ENDPOINT_URL"] == s3_bucket.endpoint
    return s3_bucket
