"""Templates: built-ins, custom folders, validation messages, the CLI, and definition load."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sprint_exports.formats import FORMAT_NAMES, get_format
from sprint_exports.report.model import ISSUE_COLUMNS
from sprint_exports.templates import (
    TemplateError,
    builtin_templates,
    get_template,
    load_templates,
    parse_template,
)
from sprint_exports.templates.model import GROUP_BY_CHOICES

COLUMNS = list(ISSUE_COLUMNS)


def test_builtins_are_what_the_docs_say():
    templates = builtin_templates()
    assert set(templates) == {"sprint_summary", "issue_list", "metrics_only"}
    summary, issues, metrics = templates["sprint_summary"], templates["issue_list"], templates["metrics_only"]
    assert summary.fields.basic_info and summary.fields.team_info and summary.fields.issues and summary.fields.metrics
    assert summary.format_options.include_charts and summary.format_options.group_by == "status"
    assert issues.columns == COLUMNS and not issues.format_options.include_charts
    assert not (issues.fields.basic_info or issues.fields.team_info or issues.fields.metrics)
    assert issues.format_options.sort_by == "key"
    assert metrics.fields.basic_info and metrics.fields.metrics and not metrics.fields.issues
    assert metrics.format_options.include_charts


@pytest.mark.parametrize(
    "document, expected",
    [
        ({"name": "t", "fields": {"issue_columns": ["key", "team"]}}, "fields.issue_columns: issue_columns has unknown column(s) 'team'; allowed: key, summary"),
        ({"name": "t", "fields": {"custom_fields": ["sprint"]}}, "fields.custom_fields: custom_fields has unknown column(s) 'sprint'"),
        ({"name": "t", "format_options": {"group_by": "team"}}, "format_options.group_by: 'team' is not allowed; input should be 'none', 'status', 'assignee', 'issue_type' or 'priority'"),
        ({"name": "t", "format_options": {"sort_by": "-velocity"}}, "format_options.sort_by: sort_by '-velocity' is not an issue column"),
        ({"name": "t", "fields": {"issue_columns": ["key", "status"], "custom_fields": ["status"]}}, "column(s) status appear more than once"),
        ({"name": "t", "fields": {"basic_info": False, "team_info": False, "metrics": False, "issues": False}}, "the template selects nothing"),
        ({"name": "t", "fields": {"basic_info": False, "team_info": False, "metrics": False, "issue_columns": []}}, "the template selects nothing"),
        ({"name": "Bad Name"}, "name: must be lower-case letters"),
        ({"name": "t", "colour": "red"}, "colour: is not a template field"),
        (["not", "a", "mapping"], "expected a mapping"),
    ],
)
def test_invalid_templates_name_the_field_and_what_is_allowed(document, expected):
    with pytest.raises(TemplateError) as raised:
        parse_template(document, "Template file x.yaml")
    assert str(raised.value).startswith("Template file x.yaml: ")
    assert expected in str(raised.value)


def write(folder: Path, name: str, document: object) -> Path:
    path = folder / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document), encoding="utf-8")
    return path


def test_custom_folder_adds_templates_and_rejects_clashes(tmp_path):
    write(tmp_path, "team_view.yaml", {"name": "team_view", "title": "Team view", "fields": {"issues": False}})
    assert set(load_templates(tmp_path)) == {"sprint_summary", "issue_list", "metrics_only", "team_view"}
    assert load_templates(tmp_path / "absent") == builtin_templates()

    write(tmp_path, "clash.yaml", {"name": "issue_list"})
    with pytest.raises(TemplateError, match=r"clash.yaml: name 'issue_list' clashes with a built-in template"):
        load_templates(tmp_path)


def test_duplicate_names_and_bad_yaml_name_the_file(tmp_path):
    write(tmp_path, "a.yaml", {"name": "mine"})
    write(tmp_path, "b.yaml", {"name": "mine"})
    with pytest.raises(TemplateError, match=r"b.yaml: name 'mine' is already used by .*a.yaml"):
        load_templates(tmp_path)
    (tmp_path / "b.yaml").unlink()
    write(tmp_path, "c.yaml", "name: [unclosed\n")
    with pytest.raises(TemplateError, match=r"c.yaml: cannot read it as YAML"):
        load_templates(tmp_path)


SHADOW_LIKE = "root:$6$Zq9Secret$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"


@pytest.mark.parametrize(
    "secret, marker",
    [
        (SHADOW_LIKE, "Zq9Secret"),  # parses as YAML keys: /etc/shadow behind a template symlink
        ("api_token: Zq9Secret: more\n", "Zq9Secret"),  # a YAML syntax error on a secret line
        ("a: *Zq9SecretAlias\n", "Zq9SecretAlias"),  # a YAML error that names what it found
        ("x: !Zq9SecretTag 1\n", "Zq9SecretTag"),
    ],
)
def test_template_errors_never_echo_file_contents(tmp_path, secret, marker):
    hidden = tmp_path / "elsewhere" / "shadow"
    hidden.parent.mkdir()
    hidden.write_text(secret)
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "innocent.yaml").symlink_to(hidden)
    with pytest.raises(TemplateError) as raised:
        load_templates(folder)
    message = str(raised.value)
    assert message.startswith(f"Template file {folder / 'innocent.yaml'}: ")
    assert marker not in message and "root:" not in message and "api_token" not in message, message


def test_yaml_errors_say_where_without_the_line(tmp_path):
    write(tmp_path, "c.yaml", "name: ok\ntitle: a: b\n")
    with pytest.raises(TemplateError, match=r"c.yaml: cannot read it as YAML: mapping values are not allowed here at line 2, column 9$"):
        load_templates(tmp_path)


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_cli_lists_shows_and_validates(tmp_path):
    good = write(tmp_path, "team_view.yaml", {"name": "team_view", "title": "Team view", "fields": {"issues": False}})
    env = {"SPRINT_EXPORT_TEMPLATES_DIR": str(tmp_path)}
    listed = run("-m", "sprint_exports", "templates", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "team_view" in listed.stdout and "custom" in listed.stdout and "sprint_summary" in listed.stdout

    shown = run("-m", "sprint_exports", "templates", "show", "team_view", env=env)
    resolved = yaml.safe_load(shown.stdout)
    assert resolved["fields"]["issues"] is False and resolved["format_options"]["group_by"] == "none"
    assert resolved["fields"]["issue_columns"] == COLUMNS, "defaults are filled in"

    bad = write(tmp_path / ".." , "bad_template.yaml", {"name": "oops", "format_options": {"sort_by": "nope"}})
    checked = run("-m", "sprint_exports", "templates", "validate", str(good), str(bad), env=env)
    assert checked.returncode == 1
    assert f"ok      {good}" in checked.stdout
    assert "bad_template.yaml: format_options.sort_by" in checked.stderr
    assert run("-m", "sprint_exports", "templates", "validate", str(good), env=env).returncode == 0


def test_a_broken_template_file_stops_the_code_location_loading(tmp_path):
    write(tmp_path, "broken.yaml", {"name": "broken", "fields": {"issue_columns": ["key", "points"]}})
    loaded = run("-c", "import sprint_exports.definitions", env={"SPRINT_EXPORT_TEMPLATES_DIR": str(tmp_path)})
    assert loaded.returncode != 0
    assert "broken.yaml: fields.issue_columns: issue_columns has unknown column(s) 'points'" in loaded.stderr


# --- property-based: any valid template renders in every format; any invalid one is refused up front.

valid_templates = st.builds(
    lambda columns, extra, issues, basic, team, metrics, charts, group, sort, desc: {
        "name": "generated",
        "fields": {
            "issue_columns": columns,
            "custom_fields": [c for c in extra if c not in columns],
            "issues": issues,
            "basic_info": basic or not (issues or team or metrics),
            "team_info": team,
            "metrics": metrics,
        },
        "format_options": {"include_charts": charts, "group_by": group, "sort_by": ("-" if desc else "") + sort},
    },
    st.lists(st.sampled_from(COLUMNS), unique=True, min_size=1),
    st.lists(st.sampled_from(COLUMNS), unique=True, max_size=3),
    st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans(),
    st.sampled_from(GROUP_BY_CHOICES), st.sampled_from(COLUMNS), st.booleans(),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=valid_templates)
def test_any_valid_template_renders_every_format(document, make_report, tmp_path_factory):
    template = parse_template(document, "generated")
    report = make_report(5)
    folder = tmp_path_factory.mktemp("generated")
    for name in FORMAT_NAMES:
        get_format(name).render(report, template, folder / f"out.{name}")
        assert (folder / f"out.{name}").stat().st_size > 0
    text = (folder / "out.csv").read_text(encoding="utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    if template.fields.issues:
        assert header == [ISSUE_COLUMNS[c].label for c in template.table_columns]
        group = template.group_column
        assert group is None or header[0] == ISSUE_COLUMNS[group].label
    else:
        assert header == ["section", "name", "value"]


def mutate(document: dict, how: str, junk: str) -> dict:
    document = yaml.safe_load(yaml.safe_dump(document))
    if how == "column":
        document["fields"]["issue_columns"].append("x" + junk)
    elif how == "group":
        document["format_options"]["group_by"] = "x" + junk
    elif how == "sort":
        document["format_options"]["sort_by"] = "x" + junk
    elif how == "duplicate":
        document["fields"]["custom_fields"] = [document["fields"]["issue_columns"][0]]
    elif how == "empty":
        document["fields"].update(basic_info=False, team_info=False, metrics=False, issues=False)
    elif how == "unknown_key":
        document["format_options"]["x" + junk] = True
    return document


@settings(max_examples=40, deadline=None)
@given(document=valid_templates, how=st.sampled_from(["column", "group", "sort", "duplicate", "empty", "unknown_key"]),
       junk=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8))
def test_any_invalid_template_is_refused_with_a_template_error(document, how, junk):
    with pytest.raises(TemplateError):
        parse_template(mutate(document, how, junk), "generated")


def test_get_template_names_the_choices():
    with pytest.raises(TemplateError, match="Unknown template 'nope'; available: issue_list, metrics_only, sprint_summary"):
        get_template("nope")
