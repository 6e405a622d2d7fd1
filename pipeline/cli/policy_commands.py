"""Admin commands: policy (what to grant); `check` (is what is granted enough) is in check_commands."""

from __future__ import annotations

import click

from pipeline.cli.common import UserError, db_option, open_existing, product_code

# What each --format prints, by provider; M365 permissions have no policy format.
FORMAT_PROVIDERS = {"aws": ("aws",), "azure": ("azure",), "gcp": ("gcp",), "terraform": ("aws", "azure", "gcp")}
LISTED_TITLES = 10
TITLES_MARK = "; operations: "


def left_out_notes(db, product: str, build: str | None, texts: tuple[str, ...], fmt: str,
                   include_optional: bool) -> list[str]:
    """Per --operation text, the permissions of providers the chosen format does not print."""
    from catalog.analysis.compare import CompareError
    from catalog.analysis.policy import select_permissions

    notes = []
    for text in texts:
        try:
            permissions = select_permissions(db, product, build, (text,), include_optional).permissions
        except CompareError:
            notes.append(f"{text!r} matches no operation")
            continue
        counts = {"aws": len(permissions.aws), "azure": sum(map(len, permissions.azure.values())),
                  "gcp": len(permissions.gcp), "m365": len(permissions.m365)}
        for provider, count in counts.items():
            if count and provider not in FORMAT_PROVIDERS[fmt]:
                hint = f" (use --format {provider})" if provider in FORMAT_PROVIDERS else " (no policy format)"
                notes.append(f"{count} {provider} permissions of {text!r}{hint}")
    return notes


def operation_count(db, product: str, build: str | None) -> int:
    """How many distinct operation titles the product has at the build (0 when it cannot say)."""
    from catalog.analysis.compare import CompareError, resolve
    from catalog.analysis.policy import operations_at

    try:
        return len({op["title"] for op in operations_at(db, product, resolve(db, product, build or "latest"))})
    except CompareError:
        return 0


def capped_titles(message: str, total: int) -> str:
    """An unmatched --operation's error lists the first few titles, not all of them."""
    head, mark, listed = message.partition(TITLES_MARK)
    titles = listed.removesuffix(" ...").split("; ")
    if not mark or len(titles) <= LISTED_TITLES:
        return message
    more = max(total, len(titles)) - LISTED_TITLES
    return f"{head}{TITLES_MARK}{'; '.join(titles[:LISTED_TITLES])} … and {more} more"


@click.command()
@db_option()
@click.option("--product", callback=product_code, required=True, help="Product code, e.g. vbaws.")
@click.option("--build", help="A build, a YYYY-MM-DD date or 'latest' (the default).")
@click.option("--operation", "operations", multiple=True, required=True,
              help="Operations whose \"Section › Title\" contains this text (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["aws", "azure", "gcp", "terraform"]), default="aws",
              show_default=True)
@click.option("--include-optional", is_flag=True, help="Include permissions the page marks optional.")
def policy(db_path, product, build, operations, fmt, include_optional):
    """Print a ready-to-paste policy for the chosen operations: merged, de-duplicated, sorted.

    AWS output is one policy document, or a JSON list of documents when one would exceed the
    6,144-character managed-policy limit.

    Example: veeam-perms policy --product vbaws --operation "deploy a new backup appliance"
    """
    from catalog.analysis.compare import CompareError
    from catalog.analysis.policy import select_permissions

    db = open_existing(db_path)
    try:
        selection = select_permissions(db, product, build, operations, include_optional)
    except CompareError as error:
        raise UserError(capped_titles(str(error), operation_count(db, product, build))) from error
    documents = selection.documents()  # the website's merged policy is the same call
    left_out = left_out_notes(db, product, build, operations, fmt, include_optional)
    if left_out:
        click.echo("left out: " + "; ".join(left_out), err=True)
    if fmt not in documents:
        raise UserError(f"the chosen operations list no {fmt} permissions; try another --format")
    click.echo(documents[fmt], nl=fmt in ("aws", "azure"))
    click.echo(f"{len(selection.operations)} operations at {selection.build}: "
               + "; ".join(title for _, title in selection.operations), err=True)
