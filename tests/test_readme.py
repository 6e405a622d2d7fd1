"""The README's command table is generated from the commands' --help (cog) and must be current."""

from pathlib import Path

import click
from cogapp import Cog

from pipeline.cli.docs import walk
from pipeline.cli.main import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_command_table_is_what_cog_generates_now():
    status = Cog().main(["cog", "--check", str(README)])
    assert status == 0, "README.md is stale: regenerate it with `.venv/bin/cog -r README.md`"


def test_every_registered_command_has_a_row():
    text = README.read_text(encoding="utf-8")
    paths = [ctx.command_path for _, ctx in walk(cli, click.Context(cli, info_name="veeam-perms"))]
    assert {"veeam-perms policy", "veeam-perms check", "veeam-perms corpus fetch"} <= set(paths)
    assert [path for path in paths if f"| `{path} [OPTIONS]" not in text] == []
