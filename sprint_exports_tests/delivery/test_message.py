"""Building delivery messages: safe headers, escaped HTML, attachment limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import io
import random
import re
import zipfile
from urllib.parse import parse_qs, urlparse

import pytest

from sprint_exports.delivery.message import ExportedAttachment, PortalLinks, SprintDelivery, build_message, render_subject
from sprint_exports.signing import verify_download
from sprint_exports.report.model import MetricsSummary


def delivery(tmp_path, sizes=(1000, 2000), sprint_name="Sprint 1", team="Platform", compressible=False) -> SprintDelivery:
    files = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"report-{index}.{'csv' if index == 0 else 'pdf'}"
        payload = (b"KEY,Summary\r\n" * size)[:size] if compressible else random.Random(index).randbytes(size)
        path.write_bytes(payload)
        media = "text/csv" if index == 0 else "application/pdf"
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
        files.append(ExportedAttachment(path, media, size, hashlib.sha256(payload).hexdigest(), path.suffix[1:], expires))
    summary = MetricsSummary(
        rows=(("planned_points", "Planned points", "10"), ("completion_rate", "Completion rate (%)", "50.0")),
        notes=(), burndown=(("2026-11-02", 10, 10.0), ("2026-11-03", 5, 0.0)),
    )
    return SprintDelivery("run-1", 1, sprint_name, 1, team, tuple(files), summary)


def test_tracker_text_cannot_inject_headers(tmp_path):
    evil = delivery(tmp_path, sprint_name="S1\r\nBcc: victim@example.com", team="Ops\nX-Evil: 1")
    message = build_message(evil, sender="reports@example.com", recipient="a@example.com")
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Ops X-Evil: 1 — S1 Bcc: victim@example.com report"
    assert "\n" not in message["Subject"]


def test_html_body_escapes_tracker_text(tmp_path):
    message = build_message(delivery(tmp_path, sprint_name="<script>alert(1)</script>"), sender="r@example.com", recipient="a@example.com")
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_subject_placeholders_are_checked():
    with pytest.raises(ValueError, match=r"subject placeholder \{owner\} is not allowed; allowed: \{team\}, \{sprint\}, \{sprint_id\}"):
        render_subject("{owner} report", None)


def test_files_over_the_limit_travel_as_one_zip(tmp_path):
    sent = delivery(tmp_path, sizes=(6000, 6000), compressible=True)
    message = build_message(sent, sender="r@example.com", recipient="a@example.com", attachment_limit=10_000)
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == "application/zip" and part.get_filename() == "report-0-exports.zip"
    with zipfile.ZipFile(io.BytesIO(part.get_payload(decode=True))) as archive:
        for exported in sent.files:
            assert hashlib.sha256(archive.read(exported.path.name)).hexdigest() == exported.sha256
    assert "attached as one zip archive" in message.get_body(("plain",)).get_content()


def test_files_over_the_limit_even_zipped_are_not_attached_but_linked(tmp_path):
    sent = delivery(tmp_path, sizes=(60_000, 60_000))
    portal = PortalLinks("https://portal.example.com", b"k" * 32)
    message = build_message(sent, sender="r@example.com", recipient="A@example.com", attachment_limit=10_000, portal=portal)
    assert list(message.iter_attachments()) == []
    plain = message.get_body(("plain",)).get_content()
    assert "exceed the 9.8 KB attachment limit" in plain and "links below" in plain and str(tmp_path) not in plain
    links = re.findall(r"https://portal\.example\.com/downloads/\S+", plain)
    assert [urlparse(link).path for link in links] == ["/downloads/run-1/csv", "/downloads/run-1/pdf"]
    for link, exported in zip(links, sent.files):
        query = {name: values[0] for name, values in parse_qs(urlparse(link).query).items()}
        assert query["user"] == "a@example.com" and query["sprint"] == "1"
        assert int(query["expires"]) == int(exported.expires_at.timestamp())  # the file expires before a week is out
        assert verify_download(b"k" * 32, "run-1", exported.format, 1, "a@example.com", int(query["expires"]), query["sig"])
    assert html_lib.escape(links[0], quote=True) in message.get_body(("html",)).get_content()
    without = build_message(sent, sender="r@example.com", recipient="a@example.com", attachment_limit=10_000)
    assert "run-1" in without.get_body(("plain",)).get_content() and "/downloads/" not in without.as_string()


def test_every_message_carries_links_when_the_portal_is_known(tmp_path):
    sent = delivery(tmp_path)
    message = build_message(sent, sender="r@example.com", recipient="a@example.com", portal=PortalLinks("http://p", b"k" * 32))
    assert len(list(message.iter_attachments())) == 2
    assert message.get_body(("plain",)).get_content().count("http://p/downloads/run-1/") == 2


def test_message_id_is_stable_per_recipient(tmp_path):
    sent = delivery(tmp_path)
    first = build_message(sent, sender="r@example.com", recipient="a@example.com")
    second = build_message(sent, sender="r@example.com", recipient="A@example.com")
    other = build_message(sent, sender="r@example.com", recipient="b@example.com")
    assert first["Message-ID"] == second["Message-ID"] != other["Message-ID"]
