"""The cheap passes that spare the parser's work lose nothing: a page is skipped only when the full
parse finds nothing in it (the bytes pass of parse/inert.py, and the page gate of extract)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.parse.extract import extract, walk
from pipeline.parse.inert import may_hold_permissions
from pipeline.parse.markdown_frontend import parse_markdown_blocks
from pipeline.parse.sources import PageError, Unread, iter_page_files, parse_or_skip, parse_page_text

from corpus import GCP_DOCS, clone, need

URL = "https://helpcenter.veeam.com/docs/vbaws/guide/gate_sample.html"
FRONT = (f'---\ntitle: "Gate sample"\nproduct: "vbaws"\nsource_url: "{URL}"\nlast_updated: "3/4/2026"\n'
         'product_version: "10.0.0.232"\n---\n\n# Gate sample\n\nBackups run on a schedule you choose. '
         'See [the overview](https://helpcenter.veeam.com/docs/vbaws/guide/overview.html) first.\n\n'
         '| Setting | Value |\n| --- | --- |\n| Retention | 7 days |\n| Target | S3 bucket |\n\n')
ARROW = "![](//img.veeam.com/helpcenter/baggage/arrow_next.svg)"

# Each page holds one permission (or one lost block), in one place, and nothing else that would
# make either pass look further.
ONLY_HERE = {
    "prose": "The role must be assigned the kms:Decrypt permission before the first run.\n",
    "note": "| Note |\n| --- |\n| The kms:GenerateDataKey permission is only needed for encrypted volumes. |\n",
    "inline list": "The IAM role must have the following actions: ec2:CreateSnapshot and ec2:DeleteSnapshot.\n",
    "code block": (f"{ARROW}Policy for snapshots\n\n| |\n| --- |\n| | | --- | | {{ \"Version\": \"2012-10-17\", "
                   '"Statement": [ { "Effect": "Allow", "Action": [ "ec2:DescribeInstances" ], '
                   '"Resource": "*" } ] } | |\n'),
    "unquoted list": "| compute.disks.create compute.disks.get compute.snapshots.create |\n",
    "cut block": "| { |\n",
    "M365 table": ("| API | Permission | Type |\n| --- | --- | --- |\n"
                   "| Microsoft Graph | Directory.Read.All | Application |\n"),
    "a word a link completes": ("Grant the ec2:StartInstances permis[sion](https://helpcenter.veeam.com/docs/x.html) "
                                "to the role.\n"),
}


def page(body: str) -> bytes:
    return (FRONT + body).encode()


def full(data: bytes):
    return parse_page_text(data.decode(), "markdown", path="gate_sample.md")


@pytest.mark.parametrize("place", sorted(ONLY_HERE))
def test_a_page_whose_only_permission_sits_in_one_place_is_parsed_whole(place):
    data = page(ONLY_HERE[place])
    whole = full(data)
    assert whole.operations or whole.mentions or any(w.content_lost for w in whole.warnings), place
    assert may_hold_permissions(data)
    assert parse_or_skip(data, "markdown", "gate_sample.md", "gate_sample.md") == whole
    blocks = parse_markdown_blocks(data.decode()).blocks
    assert extract(blocks, "Gate sample") == walk(blocks, "Gate sample")


def test_a_page_without_any_cue_is_read_only_for_its_url():
    data = page("Choose a schedule and a retention.\n\n* Daily\n* Weekly\n\n| Step | Action |\n| --- | --- |\n"
                "| 1 | Open the [wizard](https://helpcenter.veeam.com/docs/vbaws/guide/wizard.html). |\n")
    whole = full(data)
    assert (whole.operations, whole.mentions, whole.warnings) == ([], [], [])
    assert parse_or_skip(data, "markdown", "gate_sample.md", "gate_sample.md") == Unread(URL)


@pytest.mark.parametrize("line", [b"|" + b"{abc|" * 800_000, b"|" + b"x" * 4_000_000 + b"|{abc" * 1_000])
def test_the_bytes_pass_reads_a_4_mb_table_line_of_bracket_cells_in_linear_time(line):
    """Each cell around a bracket is read once: the quadratic scan took about 100 s of CPU here."""
    from catalog.limits import cpu_time_limit

    with cpu_time_limit(3.0):
        assert may_hold_permissions(line + b"\n") is False


def test_the_word_permission_alone_still_skips_the_walk_and_yields_nothing():
    data = page("You need administrative permissions on the backup server to change these settings.\n")
    blocks = parse_markdown_blocks(data.decode()).blocks
    assert walk(blocks).operations == walk(blocks).mentions == [] and extract(blocks).warnings == []
    assert isinstance(parse_or_skip(data, "markdown", "x.md", "x.md"), type(full(data)))  # parsed, since it says so


def test_veeam_markdown_and_html_are_never_skimmed():
    veeam = ('---\ntitle: "Sample"\nurl: "' + URL + '"\n---\n\n::: note\nNothing here.\n:::\n').encode()
    assert not isinstance(parse_or_skip(veeam, "markdown", "x.md", "x.md"), Unread)
    html = b"<html><body><p>Nothing here.</p></body></html>"
    assert not isinstance(parse_or_skip(html, "html", "x.html", "x.html"), Unread)


PIECES = st.sampled_from([
    "|", "| --- |", "{", "}", "[", "]", '"', "\u201c", ",", ":", "\\*", "\\.", "\n", "\n\n", ARROW, "![](x.png)",
    "[link](https://helpcenter.veeam.com/x.html)", "permis[sion](u)", "permis", "sion", "follow", "ing actions:",
    '"Action": [', '"actions": [', '"Statement": [', "ec2:Describe*", "s3:GetObject", "Microsoft.Compute/disks/read",
    "compute.disks.get", "compute.disks.list", "Note", "* ", "# Heading", "Directory.Read.All",
    "| API | Permission |", " must have the following permissions: ", "IAM role", "the following actions",
    "\u200b", "a", " ", "x.y.z",
])
BODIES = st.lists(st.one_of(PIECES, st.text(alphabet="abc|[](){}.:\"! \n\\", max_size=30)), max_size=50).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BODIES)
def test_whatever_the_page_a_skipped_page_holds_nothing_and_the_gate_agrees_with_the_walk(body):
    data = page(body)
    try:
        whole = full(data)
    except PageError:  # a page the parser refuses is refused by both ways of reading it
        with pytest.raises(PageError):
            parse_or_skip(data, "markdown", "gate_sample.md", "gate_sample.md")
        return
    skimmed = parse_or_skip(data, "markdown", "gate_sample.md", "gate_sample.md")
    if isinstance(skimmed, Unread):
        assert (whole.operations, whole.mentions, whole.warnings) == ([], [], [])
        assert skimmed.url == whole.url
    else:
        assert skimmed == whole
    blocks = parse_markdown_blocks(data.decode()).blocks
    assert extract(blocks) == walk(blocks)


@pytest.fixture(scope="module")
def head_pages(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("gate"))
    folders = [clone(name, root) / "docs" for name in ("vbaws", "vbazure", "vbr", "vb365")]
    return list(iter_page_files([*folders, need(GCP_DOCS)]))


def test_every_real_head_page_skipped_or_gated_holds_nothing(head_pages):
    skipped = gated = 0
    for page_file in head_pages:
        data = page_file.path.read_bytes()
        blocks = parse_markdown_blocks(data.decode()).blocks
        walked, extracted = walk(blocks), extract(blocks)
        assert extracted == walked, page_file.path
        gated += walked.operations == walked.mentions == walked.warnings == []
        skimmed = parse_or_skip(data, "markdown", str(page_file.path), str(page_file.path))
        if isinstance(skimmed, Unread):
            skipped += 1
            assert (walked.operations, walked.mentions, walked.warnings) == ([], [], []), page_file.path
    # Most pages never speak of permissions: both passes spare most of the work.
    assert skipped > 0.8 * len(head_pages) and gated > 0.95 * len(head_pages)


WORDS = st.sampled_from(["must", "also", "have", "be", "granted", "assigned", "additionally", "requires", "require",
                         "assign", "grant", "the", "following", "set", "of", "permissions", "permission", "actions",
                         "dataActions", "scopes", "privileges", "rights", "roles", "Following", "PERMISSIONS", ":",
                         ".", "\n", "to", "role", "IAM"])


@settings(max_examples=500, deadline=None)
@given(st.lists(WORDS, max_size=14).map(" ".join))
def test_every_prose_cue_needs_the_words_the_bytes_pass_looks_for(text):
    from pipeline.parse.cues import (
        INTRODUCES_PERMISSIONS,
        LISTED_WORDS,
        NAMES_PERMISSIONS,
        PERMISSION_WORD,
        REQUIREMENT_PHRASE,
        REQUIREMENT_WORD,
    )

    lowered = text.lower()
    words = PERMISSION_WORD in lowered or REQUIREMENT_WORD in lowered and any(w in lowered for w in LISTED_WORDS)
    if REQUIREMENT_PHRASE.search(text) or INTRODUCES_PERMISSIONS.search(text) or NAMES_PERMISSIONS.search(text):
        assert words, text
