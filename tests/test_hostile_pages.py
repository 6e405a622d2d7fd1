"""Hostile pages: each is parsed safely or reported as failed with a reason, in bounded time and memory.

The pages are generated here (a 50 MB body is not committed).
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from pipeline.cli.main import cli
from pipeline.fetch.blocked import blocked_reason
from pipeline.fetch.discover import extract_links
from pipeline.parse.sources import PageError, PageFile, parse_file, parse_page_text

FRONT = ('---\ntitle: "{title}"\nproduct: "vbaws"\nsource_url: "https://helpcenter.veeam.com/docs/vbaws/guide/'
         '{slug}.html"\nlast_updated: "1/2/2026"\nproduct_version: "10.0.0.232"\n---\n\n')
SECONDS, MEGABYTES = 20.0, 400
ROOT = Path(__file__).resolve().parents[1]


def page(slug, body, title="Hostile"):
    return FRONT.format(title=title, slug=slug) + body


def hostile_pages():
    million = ", ".join(f'"s:A{i}"' for i in range(1_000_000))
    many = ", ".join(f'"s:A{i}"' for i in range(100_000))
    return {
        "deep_json.md": page("deep_json", "The IAM user needs the following permissions:\n\n|  |\n| --- |\n| "
                             + '{"Statement": ' + "[" * 200_000 + "]" * 200_000 + "} |\n").encode(),
        "deep_html.html": ("<html><body>" + "<div>" * 200_000 + "text" + "</div>" * 200_000
                           + "</body></html>").encode(),
        "huge.md": page("huge", "x" * (50 * 1024 * 1024)).encode(),
        "script_sql.md": page("script_sql", 'The IAM user needs the following permissions:\n\n|  |\n| --- |\n'
                              '| { "Statement": [ { "Effect": "Allow", "Action": [ "ec2:DescribeRegions" ], '
                              '"Resource": "*" } ] } |\n',
                              title="<script>alert(1)</script>'; DROP TABLE pages; --").encode(),
        "invalid_utf8.md": page("invalid_utf8", "fine text ").encode() + b"\xc3\x28\xff\xfe broken",
        "million.md": page("million", "The IAM user needs the following permissions:\n\n|  |\n| --- |\n| { "
                           + million + " } |\n").encode(),
        "many_names.md": page("many_names", "The IAM user needs the following permissions:\n\n|  |\n| --- |\n| { "
                              + many + " } |\n").encode(),
        "many_blocks.md": page("many_blocks", "para\n\n" * 200_000).encode(),
        "inline_flood.md": page("inline_flood", "The role must have the following permissions: s3:GetObject "
                                * 6_000).encode(),
        "unended_inline.md": page("unended_inline", "Grant the role the following permissions: "
                                  + "s3:GetObject and " * 500_000).encode(),
    }


EXPECTED = {
    "deep_json.md": None,  # parsed: the block is read by a token scan, with a warning
    "deep_html.html": "structure nested too deeply to parse",
    "huge.md": "bytes is over the 20,971,520-byte page limit",
    "script_sql.md": None,
    "invalid_utf8.md": "not valid UTF-8 at byte",
    "million.md": "a code block of 12,888,892 characters is over the 2,000,000 limit",
    "many_names.md": "a code block lists 100,000 names, over the 20,000 limit",
    "many_blocks.md": "200,000 blocks is over the 50,000 a page may have",
    "inline_flood.md": "a text block holds over 5,000 requirement lists",
    "unended_inline.md": None,  # read up to MAX_SENTENCE_CHARS after the colon
}


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    for name, data in hostile_pages().items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hostile_page_is_bounded_in_time_and_explained(hostile_dir, name):
    # Timed without memory tracing: tracemalloc makes the deep HTML page about 4x slower.
    started = time.perf_counter()
    try:
        outcome = parse_file(PageFile(hostile_dir / name))
        error = None
    except PageError as caught:
        outcome, error = None, str(caught)
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS, elapsed
    if EXPECTED[name] is None:
        assert outcome is not None, error
    else:
        assert error is not None and error.startswith(str(hostile_dir / name))
        assert EXPECTED[name] in error


# Peak resident memory of a fresh interpreter parsing one page, beyond what it held after the imports
# (Linux: /proc/self/status; writing 5 to clear_refs resets the peak). It counts what lxml allocates
# in C too, which tracemalloc cannot see.
MEASURE_MEMORY = """
import sys
from pathlib import Path
from pipeline.parse.sources import PageError, PageFile, parse_file

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS")
try:
    parse_file(PageFile(Path(sys.argv[1])))
except PageError:
    pass
print(status("VmHWM") - before)
"""


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hostile_page_is_bounded_in_memory(hostile_dir, name):
    run = subprocess.run([sys.executable, "-c", MEASURE_MEMORY, str(hostile_dir / name)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    peak = float(run.stdout)
    assert peak < MEGABYTES, peak


def test_deep_json_keeps_its_names_and_says_why(hostile_dir):
    result = parse_file(PageFile(hostile_dir / "deep_json.md"))
    assert [w.message for w in result.warnings] == [
        "content-lost: nesting deeper than 64 levels; recovered 0 names by scanning quoted strings"]


def test_ingesting_the_hostile_corpus_lists_failures_and_keeps_the_catalog_sound(hostile_dir, tmp_path):
    db_path = tmp_path / "c.db"
    result = CliRunner().invoke(cli, ["ingest", str(hostile_dir), "--db", str(db_path)])
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 7
    db = Database(db_path)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert db.execute("select count(*) from pages where title like '%DROP TABLE%'").fetchone()[0] == 1
    assert "pages" in db.table_names()


VEEAM_FRONT = '---\ncanonical: "https://helpcenter.veeam.com/docs/vbr/userguide/x.html"\ntitle: "X"\n---\n\n'
DUMP_FRONT = '---\nsource_url: "https://helpcenter.veeam.com/docs/vbr/userguide/x.html"\n---\n\n'
# Lines that made a pattern rescan the rest of its input from every position (each took from
# tens of seconds to hours before the patterns were bounded); each must now parse in seconds.
BACKTRACKING = {
    "a Veeam heading of spaces": ("veeam-markdown", VEEAM_FRONT + "## a" + " " * 5_000 + "b\n"),
    "a Veeam fence word": ("veeam-markdown", VEEAM_FRONT + "```" + "a" * 400_000 + "`\n"),
    "unclosed Veeam links": ("veeam-markdown", VEEAM_FRONT + "[a](" * 100_000 + "\n"),
    "unclosed Veeam spans": ("veeam-markdown", VEEAM_FRONT + "[a]{" * 100_000 + "\n"),
    "unclosed dump links": ("markdown-dump", DUMP_FRONT + "[a](" * 100_000 + "\n"),
    "a dump list item of 100,000 lines": ("markdown-dump", DUMP_FRONT + "* item\n" + "  more words\n" * 100_000),
    "a Veeam list item of 100,000 lines": ("veeam-markdown", VEEAM_FRONT + "* item\n" + "  more words\n" * 100_000),
    "unclosed nav elements": ("html", "<html><body>" + "<nav>" * 80_000 + "</body></html>"),
    "unclosed script elements": ("html", "<html><body>" + "<script>" * 50_000 + "</body></html>"),
}


@pytest.mark.parametrize("name", sorted(BACKTRACKING))
def test_lines_that_made_patterns_backtrack_parse_in_seconds(name):
    kind, text = BACKTRACKING[name]
    started = time.perf_counter()
    parse_page_text(text, kind, url="https://helpcenter.veeam.com/docs/vbr/userguide/x.html")
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(("name", "scan"), [
    ("unclosed anchors", lambda: extract_links("<a " * 200_000, "https://helpcenter.veeam.com/docs/x/y/z.html")),
    ("unclosed anchor quotes", lambda: extract_links('<a href="' * 100_000, "https://helpcenter.veeam.com/a.html")),
    ("a body of `<`", lambda: blocked_reason(b"<" * 1_000_000, "text/html")),
    ("unclosed scripts", lambda: blocked_reason(b"<script" * 600_000, "text/html")),
])
def test_fetched_bodies_that_made_the_link_and_bot_check_scans_backtrack_are_read_in_seconds(name, scan):
    started = time.perf_counter()
    scan()
    assert time.perf_counter() - started < 10


def test_a_git_dump_with_a_blob_over_the_page_limit_skips_it_unread(hostile_dir, tmp_path):
    repo = tmp_path / "dump"
    repo.mkdir()
    (repo / "huge.md").write_bytes((hostile_dir / "huge.md").read_bytes())
    (repo / "script_sql.md").write_bytes((hostile_dir / "script_sql.md").read_bytes())
    for command in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True)
    result = CliRunner().invoke(cli, ["ingest", str(repo), "--db", str(tmp_path / "c.db")])
    assert result.exit_code == 1
    assert "failed: huge.md@" in result.output and "bytes is over the 20,971,520-byte page limit" in result.output
    assert Database(tmp_path / "c.db").execute("select count(*) from pages").fetchone()[0] == 1
