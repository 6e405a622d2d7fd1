"""`veeam-perms check`: is what an administrator holds enough for the chosen operations, and
up to which build?"""

from __future__ import annotations

import json
import sys

import click

from catalog.analysis.check_load import MAX_INPUT_BYTES, SHAPES
from pipeline.cli.common import (
    Exit,
    UserError,
    db_option,
    leave,
    open_existing,
    product_code,
    require_output_folder,
    write_text_option,
)
from pipeline.cli.policy_commands import capped_titles, operation_count


def read_inputs(files: tuple[str, ...], limit: int) -> list[tuple[str, bytes]]:
    """Every file's bytes, all of them together within `limit` (`-` reads standard input)."""
    from catalog.analysis.check_load import read_path, read_stream

    inputs, left = [], limit
    for path in files:
        data = read_stream(sys.stdin.buffer, "stdin", left, limit) if path == "-" else read_path(path, left, limit)
        left -= len(data)
        inputs.append(("stdin" if path == "-" else path, data))
    return inputs


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("veeam-perms")
    except PackageNotFoundError:
        return "0"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@db_option()
@click.option("--product", callback=product_code, required=True, help="Product code, e.g. vbaws.")
@click.option("--operation", "operations", multiple=True, required=True,
              help="Operations whose \"Section › Title\" contains this text (repeatable).")
@click.option("--build", help="One build or YYYY-MM-DD date to check at (default: the latest).")
@click.option("--builds", metavar="all|A..B",
              help="Check every build (`all`) or a range (`13.0..latest`; a prefix names its first or last "
                   "build): what is missing at each, the last build fully covered, what the next one adds. "
                   "Products without builds are read by date.")
@click.option("--include-optional", is_flag=True, help="Count permissions the pages mark optional as required.")
@click.option("--input-format", type=click.Choice(SHAPES),
              help="Read the files as this format instead of recognising each by its shape.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True,
              help="sarif: SARIF 2.1.0 for GitHub code scanning.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--sarif-file", type=click.Path(dir_okay=False),
              help="Also write the SARIF report to this file, whatever --format prints (one run gives a "
                   "pull request its annotations and the job its summary).")
@click.option("--max-input-mb", default=MAX_INPUT_BYTES // 2**20, show_default=True, type=click.IntRange(1, 1024),
              help="Refuse inputs larger than this together (decided before anything is read).")
def check(files, db_path, product, operations, build, builds, include_optional, input_format, fmt, as_json,
          sarif_file, max_input_mb):
    """Check policies, roles, account exports and Terraform plans against what operations need.

    Inputs are recognised by their shape: an AWS policy, `aws iam get-account-authorization-details`,
    `terraform show -json` of a plan, an Azure role definition or list, a Google Cloud custom role
    (JSON or YAML). Each role, user, group, role definition or Terraform resource gets its own verdict.

    Exit status 0 when every principal has everything at every build checked, 1 when one does
    not, 2 on bad input.

    \b
    Examples:
      veeam-perms check account.json --product vbr --operation "Amazon S3"
      veeam-perms check plan.json --product vbr --operation "Amazon S3" --builds all --format sarif
    """
    from catalog.analysis.check import PolicyError, judge_all, read_principals
    from catalog.analysis.check_coverage import add_coverage, needs_for
    from catalog.analysis.check_report import format_report, report_json
    from catalog.analysis.check_sarif import report_sarif
    from catalog.analysis.compare import CompareError

    if build and builds:
        raise click.UsageError("--build and --builds exclude each other: one build, or a range")
    fmt = "json" if as_json else fmt
    if sarif_file:
        require_output_folder(sarif_file, "--sarif-file")
    db = open_existing(db_path)
    try:
        needs = needs_for(db, product, build, builds, operations)
    except CompareError as error:
        raise UserError(capped_titles(str(error), operation_count(db, product, build))) from error
    try:
        principals = read_principals(read_inputs(files, max_input_mb * 1024 * 1024), input_format)
        checked = judge_all(principals, needs, include_optional)
        if builds:
            add_coverage(db, product, checked, operations)
    except PolicyError as error:
        raise UserError(str(error)) from error
    sarif = json.dumps(report_sarif(product, operations, checked, _version()), indent=2, ensure_ascii=False) \
        if fmt == "sarif" or sarif_file else None
    if sarif_file:
        write_text_option(sarif_file, sarif + "\n", "--sarif-file")
    if fmt == "json":
        click.echo(json.dumps(report_json(product, operations, checked, bool(builds)), indent=2, ensure_ascii=False))
    elif fmt == "sarif":
        click.echo(sarif)
    else:
        click.echo(format_report(product, checked, bool(builds)))
    leave(Exit.FAILED if any(item.failed for item in checked) else Exit.OK)
