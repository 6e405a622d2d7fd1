"""Output formats valid by construction, whatever the pages hold: Atom feeds with control
characters in page text still parse as XML, and page text reaches the changelog (a pull request
body) and the gate and canary reports (issue bodies) as literal text: no mention, no HTML, no link."""

import asyncio
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from catalog.analysis.changelog import format_markdown
from catalog.analysis.compare import changes_since
from catalog.analysis.diff import Change
from catalog.analysis.untrusted import ZERO_WIDTH_SPACE, markdown_code, markdown_text, xml_text
from catalog.storage.database import open_catalog_readonly
from pipeline.cli.main import cli
from pipeline.jobs.website import make_datasette

PAGES = Path(__file__).parent / "pages"
# Page text a hostile or broken page could carry (in a section heading, which becomes the
# operation's title): control characters XML forbids, HTML, a mention, a Markdown link.
HOSTILE_TITLE = "Cloud\x01 Machine\x08\x1b <img src=//e.example/t.png> @team [go](javascript:alert(1))"
ORIGINAL_TITLE = "Cloud Machine Protection"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def page_version(folder: Path, build: str, extra: str = "") -> Path:
    text = (PAGES / "03_brace_list.md").read_text().replace(ORIGINAL_TITLE, HOSTILE_TITLE)
    text = text.replace("13.0.1.1071", build).replace('"ssm:SendCommand" }', f'"ssm:SendCommand"{extra} }}')
    folder.mkdir(parents=True)
    (folder / "agent.md").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def hostile_catalog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    db_path = folder / "catalog.db"
    assert run("ingest", page_version(folder / "v1", "13.0.1.1071"), "--db", db_path).exit_code == 0
    result = run("ingest", page_version(folder / "v2", "13.0.1.2000", ', "ssm:GetDocument"'), "--db", db_path)
    assert result.exit_code == 0, result.output
    return db_path


def test_the_hostile_title_is_stored_as_the_page_gave_it(hostile_catalog):
    db = open_catalog_readonly(hostile_catalog)
    titles = [row[0] for row in db.execute("select title from operations")]
    assert any("\x01" in title and "<img" in title for title in titles), titles


def parses(xml: str) -> feedparser.FeedParserDict:
    ET.fromstring(xml.encode("utf-8"))
    feed = feedparser.parse(xml)
    assert not feed.bozo, feed.bozo_exception
    return feed


def test_feeds_with_control_characters_parse_as_xml_on_every_surface(hostile_catalog, tmp_path):
    result = run("changelog", "--db", hostile_catalog, "--since", "2000-01-01", "--feed-dir", tmp_path / "feeds")
    assert result.exit_code == 0, result.output
    written = parses((tmp_path / "feeds" / "vbr.atom").read_text(encoding="utf-8"))
    assert run("publish", "--db", hostile_catalog, "--to", tmp_path / "site").exit_code == 0
    published = parses((tmp_path / "site" / "static" / "feeds" / "vbr.atom").read_text(encoding="utf-8"))
    served = parses(asyncio.run(make_datasette(hostile_catalog).client.get("/feeds/vbr.atom")).text)
    for feed in (written, published, served):
        (entry,) = feed.entries
        assert "+ ssm:GetDocument" in entry.content[0].value
        assert "Cloud Machine <img src=//e.example/t.png> @team" in entry.content[0].value  # controls gone


def literal(markdown: str) -> None:
    """No raw HTML, no mention, no link or image, no control character: only literal text.
    Code spans are literal by definition (CommonMark), so only the text around them is looked at."""
    assert re.search(r"[\x00-\x09\x0b-\x1f]", markdown) is None
    markdown = re.sub(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", "CODE", markdown)
    assert re.search(r"(?<!\\)<", markdown) is None
    assert re.search(r"@(?!" + ZERO_WIDTH_SPACE + ")", markdown) is None
    assert re.search(r"(?<!\\)\[(?:go|click|x)(?<!\\)\]", markdown) is None


def test_the_changelog_writes_page_text_as_literal_markdown(hostile_catalog):
    db = open_catalog_readonly(hostile_catalog)
    since = changes_since(db, "2000-01-01")
    markdown = format_markdown(since.changes, "Permission changes", {"vbr": "Backup & <b>R</b>"}, since.new_pages)
    assert "added `ssm:GetDocument`" in markdown
    literal(markdown)
    line = next(line for line in markdown.splitlines() if "Cloud" in line)
    assert line == (f"- **Cloud Machine \\<img src=//e.example/t.png> @{ZERO_WIDTH_SPACE}team "
                    "\\[go\\](javascript:alert(1))**")
    assert "## Backup & \\<b>R\\</b> (`vbr`)" in markdown


def test_every_piece_of_a_change_is_literal_in_markdown():
    hostile = "x\n# heading <img src=//e/t.png> @team ![x](//e/p.png) [click](javascript:1) &#64;ops `tick"
    change = Change(page="https://helpcenter.veeam.com/docs/vbr/userguide/a_(x).html", operation=hostile,
                    change="changed", permission="ec2:`Run`", from_=hostile, to=hostile, kind="build",
                    from_build=hostile, to_build="13.0", first_seen=hostile, section=hostile, key="k")
    renamed = Change(page=change.page, operation=hostile, change="renamed", permission=None, from_=hostile,
                     to="b`c", kind="build", from_build="1", to_build="2", first_seen="2026-01-01", key="r")
    markdown = format_markdown([change, renamed], "T", {"vbr": hostile},
                               [(change.page, "2026-01-01", hostile, 3)])
    literal(markdown)
    assert "\\&#64;ops" in markdown and "](https://helpcenter.veeam.com/docs/vbr/userguide/a_%28x%29.html)" in markdown
    assert not any(line.startswith("# heading") for line in markdown.splitlines())


def test_the_cli_changelog_and_the_update_body_are_the_same_literal_markdown(hostile_catalog, tmp_path):
    result = run("changelog", "--db", hostile_catalog, "--since", "2000-01-01", "--output", tmp_path / "c.md")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "c.md").read_text(encoding="utf-8")
    assert "\\<img" in text and "<img" not in text.replace("\\<img", "")


@pytest.mark.parametrize("text", ["`", "``x``", "a`b", " ", "line\nbreak"])
def test_a_code_span_holds_any_text_whole(text):
    span = markdown_code(text)
    fence = re.match(r"`+", span).group(0)
    assert span.endswith(fence) and fence not in span[len(fence):-len(fence)]
    assert "\n" not in span


def test_xml_text_keeps_what_xml_allows_and_drops_the_rest():
    assert xml_text("tab\tnl\ncr\r é 😀 \ue000") == "tab\tnl\ncr\r é 😀 \ue000"
    assert xml_text("".join(map(chr, range(32))) + "\ud800\ufffe\uffff") == "\t\n\r"


def test_markdown_text_is_one_line_and_breaks_mentions():
    assert markdown_text("a\nb\r\nc\u2028d") == "a b c d"
    assert markdown_text("mail me@example.com or @team") == f"mail me@{ZERO_WIDTH_SPACE}example.com or " \
                                                            f"@{ZERO_WIDTH_SPACE}team"


def test_cross_references_and_bare_addresses_in_page_text_are_no_links():
    from catalog.analysis.untrusted import ZERO_WIDTH_SPACE as Z
    from catalog.analysis.untrusted import markdown_text

    assert markdown_text("see veeam/docs#123, #45 and GH-7") == f"see veeam/docs{Z}#123, {Z}#45 and GH{Z}-7"
    assert markdown_text("see https://github.com/o/r/issues/1 or www.github.com/o/r/pull/2") == \
        f"see https:{Z}//github.com/o/r/issues/1 or {Z}www.github.com/o/r/pull/2"
    assert markdown_text("https://helpcenter.veeam.com/docs/x.html") == "https://helpcenter.veeam.com/docs/x.html"
    assert markdown_text("ec2:DescribeInstances at 10:30, step #a") == "ec2:DescribeInstances at 10:30, step #a"
