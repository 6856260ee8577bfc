"""One email per recipient and sprint: subject, plain and HTML bodies, attachments.

Tracker text reaches headers and HTML, so it is cleaned there: no line breaks
in a header (no header injection), everything escaped in HTML. Attachments
over the size limit travel as one zip; over the limit even zipped, nothing is
attached and the body's download links are the way to the files.

With the portal's address (`PortalLinks`), every message lists a signed
download link per file for its recipient (`signing.download_link`, the same
links the portal shows), expiring no later than the file does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import string
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from sprint_exports import signing
from sprint_exports.access import normalise_email
from sprint_exports.delivery.burndown_image import burndown_png
from sprint_exports.report.model import MetricsSummary
from sprint_exports.exports.storage import StoredPath, storage_at
from sprint_exports.exports.store import human_size
from sprint_exports.text import one_line

DEFAULT_SUBJECT = "{team} — {sprint} report"
SUBJECT_WITHOUT_TEAM = "{sprint} report"
SUBJECT_FIELDS = ("team", "sprint", "sprint_id")
MAX_SUBJECT_TEMPLATE = 200
DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024
BODY_METRICS = ("planned_points", "completed_points", "completion_rate", "average_velocity", "issue_count")
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class ExportedAttachment:
    path: StoredPath  # local, or an S3 object: read through the export storage
    media_type: str
    size_bytes: int
    sha256: str
    format: str = ""  # csv, xlsx, pdf: with the portal known, the file gets a download link
    expires_at: dt.datetime | None = None  # no link outlives the file


@dataclass(frozen=True)
class PortalLinks:
    """Where the portal is (SPRINT_EXPORTS_PORTAL_URL) and the key its download links are signed with."""

    portal_url: str
    key: bytes

    def file_links(self, delivery: "SprintDelivery", recipient: str, now: float | None = None) -> list[tuple[str, str]]:
        """(file name, link for `recipient`) for each file of `delivery` that has a format."""
        made_at = time.time() if now is None else now
        return [
            (f.path.name, signing.download_link(self.key, self.portal_url, delivery.export_run_id, f.format, delivery.sprint_id,
                                                normalise_email(recipient), f.expires_at, made_at))
            for f in delivery.files if f.format
        ]


@dataclass(frozen=True)
class SprintDelivery:
    """What one export run produced for one sprint, as delivery needs it."""

    export_run_id: str
    sprint_id: int
    sprint_name: str
    team_id: int
    team_name: str
    files: tuple[ExportedAttachment, ...]
    summary: MetricsSummary | None = None  # the metrics as the export run's files show them


def check_subject_template(subject: str) -> None:
    """Raise ValueError unless `subject` is at most MAX_SUBJECT_TEMPLATE characters and uses only the
    plain placeholders {team}, {sprint} and {sprint_id} (no format spec, no conversion: a spec such
    as `{sprint:>2500000000}` would make a subject of gigabytes)."""
    allowed = "allowed: " + ", ".join(f"{{{n}}}" for n in SUBJECT_FIELDS) + ", with no format spec or conversion"
    if len(subject) > MAX_SUBJECT_TEMPLATE:
        raise ValueError(f"subject template has {len(subject)} characters; at most {MAX_SUBJECT_TEMPLATE} are allowed")
    try:
        fields = list(string.Formatter().parse(subject))
    except ValueError as error:
        raise ValueError(f"subject template {subject!r} is not a template ({error}); write a literal brace as {{{{ or }}}}") from None
    for _, name, format_spec, conversion in fields:
        if name is None:
            continue
        if name not in SUBJECT_FIELDS or format_spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{format_spec}" if format_spec else "") + "}"
            shown = shown if len(shown) <= 40 else shown[:40] + "…"
            raise ValueError(f"subject placeholder {shown} is not allowed; {allowed}")


def render_subject(subject: str, delivery: SprintDelivery) -> str:
    check_subject_template(subject)
    if subject == DEFAULT_SUBJECT and delivery.team_name.casefold() in delivery.sprint_name.casefold():
        subject = SUBJECT_WITHOUT_TEAM  # "Platform — Platform Sprint 7 report" says the team twice
    filled = subject.format(team=delivery.team_name, sprint=delivery.sprint_name, sprint_id=delivery.sprint_id)
    return one_line(filled)[:250]


def message_id(delivery: SprintDelivery, recipient: str) -> str:
    """The same for every attempt to one recipient, so a resend is recognisable as one message."""
    digest = hashlib.sha256(f"{delivery.export_run_id}/{delivery.sprint_id}/{normalise_email(recipient)}".encode()).hexdigest()
    return f"<{digest[:32]}@sprint-exports>"


def build_message(
    delivery: SprintDelivery,
    *,
    sender: str,
    recipient: str,
    subject: str = DEFAULT_SUBJECT,
    attachment_limit: int = DEFAULT_ATTACHMENT_LIMIT,
    portal: PortalLinks | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = one_line(sender)
    message["To"] = one_line(recipient)
    message["Subject"] = render_subject(subject, delivery)
    message["Message-ID"] = message_id(delivery, recipient)
    message["Date"] = formatdate(usegmt=True)
    links = portal.file_links(delivery, recipient) if portal else []
    attachments, note = _attachments(delivery, attachment_limit, bool(links))
    message.set_content(_plain_body(delivery, note, links))
    chart = burndown_png(delivery.summary.burndown) if delivery.summary else None
    chart_id = f"burndown-{message_id(delivery, recipient)[1:33]}@sprint-exports"
    message.add_alternative(_html_body(delivery, note, chart_id if chart else None, links), subtype="html")
    if chart:
        html_part = message.get_payload()[1]
        html_part.add_related(chart, maintype="image", subtype="png", cid=f"<{chart_id}>", disposition="inline", filename="burndown.png")
    for name, media_type, payload in attachments:
        maintype, subtype = media_type.split("/", 1)
        message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    return message


def _attachments(delivery: SprintDelivery, limit: int, linked: bool) -> tuple[list[tuple[str, str, bytes]], str]:
    """The parts to attach and a sentence saying how the files travel."""
    total = sum(f.size_bytes for f in delivery.files)
    if total <= limit:
        return [(f.path.name, f.media_type, _read(f)) for f in delivery.files], "The files are attached."
    archive = _zip(delivery.files)
    if len(archive) <= limit:
        name = f"{delivery.files[0].path.stem}-exports.zip"
        return [(name, "application/zip", archive)], (
            f"The files ({human_size(total)}) are attached as one zip archive, {name}."
        )
    where = ("Download them from the links below." if linked
             else f"Ask for them by their Dagster run, {delivery.export_run_id}.")
    return [], (
        f"The files ({human_size(total)}, {human_size(len(archive))} zipped) exceed the {human_size(limit)} attachment limit, "
        f"so none are attached. {where}"
    )


def _zip(files: Sequence[ExportedAttachment]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for exported in files:
            info = zipfile.ZipInfo(exported.path.name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, _read(exported))
    return buffer.getvalue()


def _read(exported: ExportedAttachment) -> bytes:
    return storage_at(exported.path).read_bytes(exported.path)


def _metric_lines(delivery: SprintDelivery) -> list[tuple[str, str]]:
    """The headline metrics, labelled and rounded exactly as in the export's files."""
    rows = delivery.summary.rows if delivery.summary else ()
    return [(label, text) for name, label, text in rows if name in BODY_METRICS]


def _notes(delivery: SprintDelivery) -> tuple[str, ...]:
    return delivery.summary.notes if delivery.summary else ()


def _plain_body(delivery: SprintDelivery, note: str, links: list[tuple[str, str]]) -> str:
    lines = [f"{delivery.sprint_name} ({delivery.team_name})", ""]
    lines += [f"{label}: {value}" for label, value in _metric_lines(delivery)]
    lines += [f"{note}." for note in _notes(delivery)]
    lines += ["", "Files:"]
    lines += [f"- {f.path.name} ({human_size(f.size_bytes)}, sha256 {f.sha256[:12]}…)" for f in delivery.files]
    lines += ["", note]
    if links:
        lines += ["", "Download links (for you only; each expires when its file does, or within a week):"]
        lines += [f"- {name}: {url}" for name, url in links]
    lines += ["", f"Exported by Dagster run {delivery.export_run_id}."]
    return "\n".join(lines) + "\n"


def _html_body(delivery: SprintDelivery, note: str, chart_id: str | None, links: list[tuple[str, str]]) -> str:
    e = html.escape
    metrics = "".join(f"<tr><th align='left'>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in _metric_lines(delivery))
    notes = "".join(f"<p style='color:#57606a'>{e(text)}.</p>" for text in _notes(delivery))
    chart = f"<p><img src='cid:{e(chart_id)}' alt='Burndown chart' width='560' height='240'></p>" if chart_id else ""
    urls = dict(links)
    files = "".join(
        f"<li>{_file_name_html(f.path.name, urls.get(f.path.name))} ({e(human_size(f.size_bytes))})</li>" for f in delivery.files
    )
    return (
        f"<html><body><h2>{e(delivery.sprint_name)} ({e(delivery.team_name)})</h2>"
        f"<table>{metrics}</table>{chart}{notes}<h3>Files</h3><ul>{files}</ul>"
        f"<p>{e(note)}</p>{_links_note(links)}<p style='color:#57606a'>Exported by Dagster run {e(delivery.export_run_id)}.</p>"
        "</body></html>"
    )


def _file_name_html(name: str, url: str | None) -> str:
    e = html.escape
    return f"<a href='{e(url, quote=True)}'>{e(name)}</a>" if url else e(name)


def _links_note(links: list[tuple[str, str]]) -> str:
    if not links:
        return ""
    return "<p>The file names above are download links, for you only; each expires when its file does, or within a week.</p>"
