"""Property-based tests of the parser, the lenient JSON reader and the export round trip."""

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.analysis.export import export_catalog, page_from_export
from catalog.storage.database import open_catalog
from catalog.storage.store import CatalogWriter, Observation
from pipeline.parse.lenient_json import RecoveryError, clean_text, loads_lenient
from pipeline.parse.markdown_frontend import parse_markdown_blocks
from pipeline.parse.page import parse_html_page, parse_markdown_page
from tests.support.render_html import render_document

ARROW = "![](//img.veeam.com/helpcenter/baggage/arrow_next.svg)"
FRONT = ('---\ntitle: "Generated"\nsource_url: "https://helpcenter.veeam.com/docs/vbaws/guide/generated.html"\n'
         'last_updated: "1/2/2026"\nproduct_version: "10.0.0.232"\n---\n\n')
MARKDOWN_NOISE = st.text(alphabet=string.printable + "\u00a0✔“”", max_size=400)
PIECES = st.sampled_from(["|", "| --- |", "{", "}", "[", "]", '"', ",", ":", "\\*", "\n", "\n\n", ARROW,
                          '"Action": [', '"actions": [', '"Statement": [', "ec2:Describe*", "s3:GetObject",
                          "Microsoft.Compute/disks/read", "compute.disks.get", "Note", "Important", "* ",
                          "Page updated 1/2/2026", "# Heading", "Directory.Read.All", "| API | Permission |"])
FRAGMENTS = st.lists(st.one_of(PIECES, MARKDOWN_NOISE), max_size=60).map("".join)

AWS = st.builds(lambda s, a: f"{s}:{a}", st.sampled_from(["ec2", "s3", "iam", "kms", "ssm", "sts"]),
                st.from_regex(r"[A-Z][a-zA-Z]{2,14}", fullmatch=True))
AZURE = st.builds(lambda p, r, v: f"Microsoft.{p}/{r}/{v}", st.sampled_from(["Compute", "Network", "Storage"]),
                  st.from_regex(r"[a-z][a-zA-Z]{2,10}", fullmatch=True), st.sampled_from(["read", "write", "delete"]))
GCP = st.builds(lambda s, r, v: f"{s}.{r}.{v}", st.sampled_from(["compute", "storage", "pubsub"]),
                st.from_regex(r"[a-z][a-zA-Z]{2,10}", fullmatch=True), st.sampled_from(["get", "list", "create"]))


def emitted(page):
    return [p.name for op in page.operations for p in op.permissions]


@settings(max_examples=300, deadline=None)
@given(FRAGMENTS)
def test_arbitrary_markdown_never_raises_and_invents_nothing(text):
    page = parse_markdown_page(text)
    plain = clean_text(text).replace("\\", "")
    assert all(name in plain for name in emitted(page))


@settings(max_examples=150, deadline=None)
@given(FRAGMENTS)
def test_arbitrary_text_as_html_never_raises_and_invents_nothing(text):
    html = "<table><tr><td>" + text.replace("\n", "</td></tr></table><p>") + "</p>"
    page = parse_html_page(html)
    assert all(name.replace("\\", "") in text.replace("\\", "").replace("\u00a0", " ") or name in clean_text(text)
               for name in emitted(page))


@settings(max_examples=300, deadline=None)
@given(FRAGMENTS)
def test_lenient_json_only_ever_raises_recovery_error(text):
    try:
        loads_lenient(text)
    except RecoveryError:
        pass


def aws_policy(actions):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Generated", "Effect": "Allow", "Action": actions, "Resource": "*"}]})


FORMATS = {
    "policy": lambda names: aws_policy(names),
    "statement": lambda names: json.dumps({"Effect": "Allow", "Action": names, "Resource": "*"}),
    "braces": lambda names: "{ " + ", ".join(f'"{n}"' for n in names) + " }",
    "missing-comma": lambda names: aws_policy(names).replace('", "', '"  "', 1),
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(sorted(FORMATS)), st.lists(AWS, min_size=1, max_size=12, unique=True)),
                min_size=1, max_size=5),
       st.lists(AZURE, min_size=1, max_size=6, unique=True), st.lists(GCP, min_size=2, max_size=6, unique=True))
def test_generated_pages_parse_to_exactly_their_lists_in_both_front_ends(aws_blocks, azure, gcp):
    body = "IAM User Permissions\n\n"
    for number, (kind, names) in enumerate(aws_blocks):
        code = FORMATS[kind](names).replace("*", "\\*")
        body += (f"{ARROW}List of permissions to do task {number}\n\n"
                 f"|  |  |\n| --- | --- |\n| |  | | --- | | {code} | |\n\n")
    role = json.dumps({"properties": {"permissions": [{"actions": azure, "notActions": [], "dataActions": []}]}})
    body += (f"Azure Role\n\n|  |\n| --- |\n| {role} |\n\n"
             f"Google Cloud Permissions\n\n|  |\n| --- |\n| {'  '.join(gcp)} |\n")
    text = FRONT + body
    page = parse_markdown_page(text)
    expected = [names for _, names in aws_blocks] + [azure, gcp]
    assert [[p.name for p in op.permissions] for op in page.operations] == expected
    html = parse_html_page(render_document(parse_markdown_blocks(text)))
    assert [[p.name for p in op.permissions] for op in html.operations] == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                               HealthCheck.too_slow])
@given(st.lists(st.lists(AWS, min_size=1, max_size=8, unique=True), min_size=1, max_size=4))
def test_re_importing_an_export_gives_the_same_catalog(tmp_path_factory, blocks):
    body = "".join(f"{ARROW}List of permissions to do task {n}\n\n|  |  |\n| --- | --- |\n| |  | | --- | | "
                   f"{aws_policy(names).replace('*', chr(92) + '*')} | |\n\n" for n, names in enumerate(blocks))
    folder = tmp_path_factory.mktemp("roundtrip")
    first, second = folder / "first.db", folder / "second.db"
    db = open_catalog(first)
    writer = CatalogWriter(db, "dir", "generated")
    with writer.run():
        writer.save_page(parse_markdown_page(FRONT + body), Observation("2026-01-02T00:00:00+00:00", "dir"))
    db.close()
    export_catalog(open_catalog(first), folder / "a")
    db = open_catalog(second)
    writer = CatalogWriter(db, "dir", "export")
    with writer.run():
        for path in sorted((folder / "a" / "vbaws").glob("*.json")):
            writer.save_page(page_from_export(json.loads(path.read_text()), "vbaws"),
                             Observation("2026-01-02T00:00:00+00:00", "dir"))
    db.close()
    export_catalog(open_catalog(second), folder / "b")
    files = sorted(p.relative_to(folder / "a") for p in (folder / "a").rglob("*.json"))
    assert files == sorted(p.relative_to(folder / "b") for p in (folder / "b").rglob("*.json"))
    assert all((folder / "a" / f).read_text() == (folder / "b" / f).read_text() for f in files)
