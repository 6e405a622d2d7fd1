"""Test corpus commands: corpus fetch, corpus check."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.common import Exit, leave
from pipeline.jobs.corpus import UPSTREAM


@click.group()
def corpus():
    """The real helpcenter dumps the tests read: build them from the public dumps, or check them.

    \b
    Example:
      veeam-perms corpus fetch --to ../corpus && VEEAM_PERMS_CORPUS=../corpus .venv/bin/python -m pytest
    """


@corpus.command()
@click.option("--to", "target", required=True, type=click.Path(file_okay=False),
              help="An empty (or new) directory; it gets the layout of ../shared (corpus/, seeds/).")
@click.option("--from", "base", default=UPSTREAM, show_default=True,
              help="Where the veeam-docs-<product>-dump repositories are (a mirror, or file:///...).")
def fetch(target, base):
    """Clone each dump, verify its pinned commit and pages, and write the test corpus.

    The pins (commit, blob ids, digests) are in pipeline/jobs/corpus.toml. Point the tests at the
    result with VEEAM_PERMS_CORPUS=DIR, or build it as ../shared beside the clone.

    Example: veeam-perms corpus fetch --to ../shared
    """
    from pipeline.jobs.corpus import CorpusError, fetch_corpus

    try:
        fetch_corpus(Path(target), base, log=click.echo)
    except CorpusError as error:
        raise click.ClickException(str(error)) from error


@corpus.command()
@click.argument("root", required=False, type=click.Path(file_okay=False))
def check(root):
    """Report whether a corpus (default: the one the tests read) is the pinned one.

    The tests read ../shared beside the project when it holds a corpus, else $VEEAM_PERMS_CORPUS.

    Exit status 0 when every bundle and page matches, 1 otherwise.

    Example: veeam-perms corpus check ../shared
    """
    from pipeline.jobs.corpus import check_corpus, default_root

    findings = check_corpus(Path(root) if root else default_root())
    for finding in findings:
        click.echo(f"{'ok' if finding.ok else 'WRONG'}  {finding.text}")
    leave(Exit.OK if all(finding.ok for finding in findings) else Exit.FAILED)
