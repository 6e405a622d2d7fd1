import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from catalog.model import Page, describe_validation_error
from pipeline.cli.main import cli

PAGES = Path(__file__).parent / "pages"


def all_commands(group=cli, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path,command", list(all_commands()), ids=lambda v: " ".join(v)
                         if isinstance(v, tuple) else "")
def test_every_command_has_help_with_an_example(path, command):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output, f"veeam-perms {' '.join(path)} --help lacks an example"


def test_parse_json_lines_contract():
    result = CliRunner().invoke(cli, ["parse", "--json", str(PAGES / "01_aws_full_policy.md"),
                                      str(PAGES / "09_m365_tables.md")])
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 2
    first = records[0]
    for key in ("url", "path", "product", "build", "last_updated", "title", "operations",
                "warnings"):
        assert key in first
    assert first["product"] == "vbaws" and first["build"] == "9.1.0.27"
    assert first["last_updated"] == "2025-03-14"
    operation = first["operations"][0]
    assert operation["title"] == "List of permissions to install the appliance"
    assert operation["kind"] == "aws-policy"
    assert operation["permissions"][0] == {**operation["permissions"][0],
                                           "name": "ec2:RunInstances", "provider": "aws"}
    assert records[1]["product"] == "vbo365"


def test_parse_walks_directories_and_summarises():
    result = CliRunner().invoke(cli, ["parse", str(PAGES)])
    assert result.exit_code == 0
    assert "List of permissions to install the appliance [aws-policy for IAM user]: 5 permissions" \
        in result.output
    assert "= 'Full list of permissions' equals the union of 2 lists" in result.output


def test_parse_reports_an_unreadable_page_and_exits_1(tmp_path):
    (tmp_path / "good.md").write_text((PAGES / "03_brace_list.md").read_text())
    (tmp_path / "bad.md").write_bytes(b"---\ntitle: x\n---\n\xff\xfe broken")
    result = CliRunner().invoke(cli, ["parse", "--json", str(tmp_path)])
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'bad.md'}: not valid UTF-8 at byte 17 (invalid start byte)" \
        in result.output
    assert '"title": "Agent Permissions"' in result.output


def test_parse_names_a_missing_path():
    result = CliRunner().invoke(cli, ["parse", "nowhere/at/all.md"])
    assert result.exit_code == 2
    assert "Error: nowhere/at/all.md: no such file or directory" in result.output


def test_models_forbid_unknown_fields_with_a_readable_message():
    with pytest.raises(Exception) as error:
        Page(source_kind="html", colour="red")
    assert describe_validation_error(error.value, "docs/x.md") == \
        "docs/x.md: colour: Extra inputs are not permitted"


def test_ingesting_a_single_file_that_is_not_a_page_is_a_usage_error(tmp_path):
    not_a_page = tmp_path / "notadb.txt"
    not_a_page.write_text("hello\n", encoding="utf-8")
    db_path = tmp_path / "x2.db"
    result = CliRunner().invoke(cli, ["ingest", str(not_a_page), "--db", str(db_path)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"Error: {not_a_page}: not a helpcenter page (no page URL in it)"]
    assert not db_path.exists()


def test_every_product_option_reads_codes_case_insensitively_with_aliases():
    from pipeline.cli.common import product_code

    options = [(path, param) for path, command in all_commands() for param in command.params
               if "--product" in getattr(param, "opts", ())]
    assert {path[0] for path, _ in options} >= {"diff", "upgrade", "policy", "check", "changelog", "scrape",
                                                "update"}
    for path, param in options:
        assert param.callback is product_code, f"veeam-perms {' '.join(path)} --product"
        context = click.Context(click.Command("x"))
        given = ("VB365", " Backup ", "vbr") if param.multiple else "VB365"
        expected = ("vbo365", "vbr", "vbr") if param.multiple else "vbo365"
        assert param.process_value(context, given) == expected
