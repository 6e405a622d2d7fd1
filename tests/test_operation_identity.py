"""Issue 13: operations a person can tell apart, names never invented, lists in sentences,
Graph names in prose, lost content reported."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from catalog.model import MAX_TITLE_CHARS, Operation, Page, assign_keys
from catalog.names import (
    is_aws_action,
    is_azure_operation,
    is_gcp_permission,
    is_m365_permission,
    is_valid_name,
    trim_name,
)
from pipeline.cli.main import cli
from pipeline.parse.naming import cut
from pipeline.parse.page import parse_html_page, parse_markdown_page

PAGES = Path(__file__).parent / "pages"
ARROW = "![](//img.veeam.com/helpcenter/baggage/arrow_next.svg)"
FRONT = ('---\ntitle: "Fixture"\nsource_url: "https://helpcenter.veeam.com/docs/vbazure/guide/fixture.html"\n'
         'last_updated: "1/2/2026"\nproduct_version: "8.0.1.202"\n---\n\n# Fixture\n\n')
TRAILING = '.,;:)]"\''


def code(text: str) -> str:
    return f"|  |\n| --- |\n| {text} |\n\n"


def parse(body: str) -> Page:
    return parse_markdown_page(FRONT + body)


def stored_names(page: Page) -> list[str]:
    return [p.name for op in page.operations for p in op.permissions] + [m.name for m in page.mentions]


# --- identity ---------------------------------------------------------------------------------

def test_two_operations_of_one_page_never_share_a_key():
    twins = [Operation(key="storage › amazon s3", title="Amazon S3", kind="action-list"),
             Operation(key="storage › amazon s3", title="Amazon S3", kind="action-list")]
    with pytest.raises(ValidationError, match="two operations share the key 'storage › amazon s3'"):
        Page(source_kind="markdown-dump", operations=twins)


def test_keys_are_section_and_title_with_an_ordinal_only_where_both_repeat():
    ops = [Operation(title="Amazon S3", section="Storage › Amazon S3", kind="action-list"),
           Operation(title="For a bucket", section="Storage", kind="action-list"),
           Operation(title="For the Bucket", section="Storage", kind="action-list"),
           Operation(title="For a bucket", section="Archive", kind="action-list"),
           Operation(title="Upgrade to version 9", kind="aws-policy")]
    page = Page(source_kind="markdown-dump", operations=ops)
    # Keys are the matching form: case, articles and version numbers do not make another operation.
    assert [op.key for op in page.operations] == [
        "storage › amazon s3", "storage › for bucket", "storage › for bucket #2",
        "archive › for bucket", "upgrade to version N"]
    assert [op.label for op in page.operations][:2] == ["Storage › Amazon S3", "Storage › For a bucket"]


def test_a_new_twin_never_renames_the_first_and_given_keys_are_kept():
    ops = [Operation(key="kept", title="A", kind="action-list"),
           Operation(title="B", kind="action-list"), Operation(title="B", kind="action-list")]
    assign_keys(ops)
    assert [op.key for op in ops] == ["kept", "b", "b #2"]


def test_sections_are_heading_paths_without_the_page_title():
    page = parse_markdown_page((PAGES / "16_operation_identity.md").read_text())
    assert [op.section for op in page.operations][:5] == [
        None, "Object Storage › Amazon S3", "Object Storage › S3 Compatible", "Archive Storage › Amazon S3",
        "Archive Storage › Archiver Appliance"]
    assert len({op.key for op in page.operations}) == len(page.operations) == 8


def test_a_heading_written_as_a_paragraph_takes_the_place_of_the_deepest_heading():
    # The dumps flatten headings into paragraphs; a leveled front-end (a breadcrumb heading, h2/h3)
    # must give the same section for the same page.
    names = code('[ "s3:GetObject" ]')
    flat = parse(f"Object Storage Permissions\n\n{names}")
    leveled = parse(f"## Requirements\n\nObject Storage Permissions\n\n{names}")
    nested = parse(f"## Requirements\n\n### Buckets\n\nObject Storage Permissions\n\n{names}")
    assert [p.operations[0].section for p in (flat, leveled, nested)] == [
        "Object Storage Permissions", "Object Storage Permissions", "Requirements › Object Storage Permissions"]


# --- titles -----------------------------------------------------------------------------------

def test_title_is_the_toggle_then_a_label_then_the_heading_and_the_lead_is_the_description():
    page = parse_markdown_page((PAGES / "16_operation_identity.md").read_text())
    titles = [(op.title, op.description) for op in page.operations]
    assert titles[1] == ("Amazon S3", "If you plan to keep backups in such a bucket, make sure the account "
                                      "you connect with has the following permissions")
    assert titles[4] == ("Permissions to deploy the archiver appliance", None)
    assert titles[5] == ("For the helper bucket", None)
    assert titles[7][0] == "Archiver Appliance"


def test_a_lead_in_names_the_block_only_when_nothing_else_does_cut_at_a_word():
    (op,) = parse_markdown_page((PAGES / "16_operation_identity.md").read_text()).operations[:1]
    assert op.title == "To let the backup server reach a bucket of a target that is added through the " \
                       "wizard and checked…"
    assert op.description.endswith("checked again before every job session starts, the account must "
                                   "have the following permissions")


def test_no_title_is_over_100_characters_even_for_long_toggles_and_trust_policies():
    long_toggle = "Permissions " + "for a very long collapsible title " * 8
    trust = ('{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": [ "s3:GetObject" ], '
             '"Resource": "*" }, { "Effect": "Allow", "Principal": { "Service": "ec2.amazonaws.com" }, '
             '"Action": "sts:AssumeRole" } ] }')
    page = parse(f"{ARROW}{long_toggle}\n\n{code(trust)}")
    assert [len(op.title) <= MAX_TITLE_CHARS for op in page.operations] == [True, True]
    assert page.operations[1].title.endswith("… (trust policy)")
    assert cut("one two three", 10) == "one two…"  # the ellipsis is three UTF-8 bytes
    wide = parse(f"{ARROW}{'JSON — Permissions for an Existing Application ' * 4}\n\n{code(trust)}")
    assert all(len(op.title.encode()) <= MAX_TITLE_CHARS for op in wide.operations)


# --- inline lists and names -------------------------------------------------------------------

ISSUE_SENTENCE = ("Note that this role must also have the following permissions assigned: "
                  "Microsoft.Compute/virtualMachines/runCommands/read, "
                  "Microsoft.Compute/virtualMachines/runCommands/write, "
                  "Microsoft.Compute/virtualMachines/runCommands/delete.")


def test_the_issue_sentence_is_an_inline_list_of_its_section_without_the_period():
    page = parse(f"## Run Commands\n\n{ISSUE_SENTENCE}\n")
    (op,) = page.operations
    assert (op.kind, op.section, op.title, op.key) == ("inline-list", "Run Commands", "Run Commands",
                                                       "run commands")
    assert [p.name for p in op.permissions][-1] == "Microsoft.Compute/virtualMachines/runCommands/delete"
    assert page.mentions == []


@pytest.mark.parametrize("sentence", [
    "The account must have the following permissions: s3:GetObject, s3:PutObject and s3:ListBucket.",
    "The worker requires the following permissions: s3:GetObject; s3:PutObject; s3:ListBucket.",
    "Assign the following permissions to the role: s3:GetObject, s3:PutObject, and s3:ListBucket",
    "Grant the user the following permissions: (s3:GetObject), \"s3:PutObject\" or 's3:ListBucket'.",
])
def test_inline_list_variants(sentence):
    (op,) = parse(f"## Buckets\n\n{sentence}\n").operations
    assert [p.name for p in op.permissions] == ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]


def test_an_inline_list_said_to_be_optional_is_optional():
    (op,) = parse("If you need tags, the role must also have the following optional permissions: "
                  "ec2:CreateTags, ec2:DeleteTags.\n").operations
    assert [(p.name, p.optional) for p in op.permissions] == [("ec2:CreateTags", True), ("ec2:DeleteTags", True)]


def test_names_on_separate_lines_after_a_lead_are_an_inline_list():
    (op,) = parse("The role must have the following permissions:\n\n* ec2:DescribeVpcs\n* ec2:DescribeSubnets.\n"
                  ).operations
    assert op.kind == "inline-list" and [p.name for p in op.permissions] == ["ec2:DescribeVpcs",
                                                                             "ec2:DescribeSubnets"]


def test_bare_mentions_stay_mentions_and_requirement_names_are_not_mentions():
    page = parse_markdown_page((PAGES / "17_inline_lists.md").read_text())
    assert [(m.provider, m.name) for m in page.mentions] == [
        ("azure", "Microsoft.Storage/storageAccounts/delete"), ("m365", "Mail.Send")]
    assert {op.kind for op in page.operations} == {"inline-list"}


def test_a_token_that_fails_its_grammar_is_a_warning_not_a_permission():
    page = parse("Grant the IAM user the following permissions: ec2:DescribeVpcs, ec2:Describe-Subnets.\n\n"
                 + code('{ "Statement": [ { "Effect": "Allow", "Action": [ "s3:GetObject", "s3:Get Object" ] } ] }'))
    assert [p.name for op in page.operations for p in op.permissions] == ["ec2:DescribeVpcs", "s3:GetObject"]
    assert [w.message for w in page.warnings] == [
        "'ec2:Describe-Subnets' follows no provider's permission grammar; not stored",
        "'s3:Get Object' is not a valid aws permission name; not stored"]


def test_graph_names_in_steps_are_m365_mentions_but_vsphere_privileges_are_not():
    steps = "1. Open the app registration.\n2. Grant the application the Mail.Send permission of Microsoft Graph.\n"
    assert [(m.provider, m.name) for m in parse(steps).mentions] == [("m365", "Mail.Send")]
    vsphere = "The role needs the Task.Create permission on the vCenter Server.\n"
    assert parse(vsphere).mentions == []
    inline = "The account must have the following permissions at the vCenter level: Task.Create, Task.Update.\n"
    assert parse(inline).operations == [] and parse(inline).warnings == []


def test_graph_names_in_an_inline_list_count_where_the_page_speaks_of_microsoft_apis():
    text = ("This application reads mailboxes through Microsoft Graph.\n\n"
            "The application must have the following permissions: Mail.Send, User.Read.All.\n")
    (op,) = parse(text).operations
    assert [(p.provider, p.name) for p in op.permissions] == [("m365", "Mail.Send"), ("m365", "User.Read.All")]


@pytest.mark.parametrize("provider,good,bad", [
    ("aws", ["s3:GetObject", "ec2:Describe*", "*", "EC2:describeVolumes", "s3-object-lambda:Get?bject"],
     ["s3:GetObject.", "s3:", ":GetObject", "host:27017", "s3:Get Object", "s3:Get-Object"]),
    ("azure", ["Microsoft.Compute/disks/read", "Microsoft.Authorization/*/read", "*/read",
               "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
               "microsoft.web/sites/config/list/action", "Microsoft.Web/sites/{name}/read"],
     ["Microsoft.Compute/disks/delete.", "Microsoft.Compute", "Microsoft.Compute/disks/read)", "a/b"]),
    ("gcp", ["compute.disks.get", "iam.serviceAccounts.actAs", "storage.objects.list"],
     ["compute.disks", "www.example.com", "compute.disks.get.", "Compute.disks.get"]),
    ("m365", ["Mail.Send", "User.Read.All", "Sites.FullControl.All", "full_access_as_app", "offline_access",
              "EWS.AccessAsUser.All", "openid"],
     ["Mail.Send.", "mail.send", "User.Read.All.Extra.More", "full_access_as_app_", "Mail"]),
])
def test_each_provider_grammar(provider, good, bad):
    grammar = {"aws": is_aws_action, "azure": is_azure_operation, "gcp": is_gcp_permission,
               "m365": is_m365_permission}[provider]
    assert [name for name in good if not (grammar(name) and is_valid_name(provider, name))] == []
    assert [name for name in bad if grammar(name) or is_valid_name(provider, name)] == []
    assert not is_valid_name("vsphere", "Task.Create")


def test_trim_name_removes_sentence_punctuation_and_wrapping_only():
    assert [trim_name(t) for t in ['"s3:GetObject",', "(ec2:Describe*).", "'Mail.Send'", "“User.Read”;",
                                   "Microsoft.Web/sites/{name}", "[compute.disks.get]:"]] == [
        "s3:GetObject", "ec2:Describe*", "Mail.Send", "User.Read", "Microsoft.Web/sites/{name}",
        "compute.disks.get"]


NAMES = st.sampled_from(["s3:GetObject", "ec2:Describe*", "Microsoft.Compute/disks/read", "compute.disks.get",
                         "Microsoft.Compute/virtualMachines/runCommands/delete", "iam:PassRole"])
WRAP = st.text(alphabet=".,;:)]}\"'([{“”!? ", max_size=4)
WORDS = st.text(alphabet="abcdefghij ABC.,;:", max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(WRAP, NAMES, WRAP), min_size=1, max_size=5), WORDS, WORDS,
       st.sampled_from(["inline", "note", "code", "prose"]))
def test_no_stored_name_ends_in_punctuation(items, before, after, shape):
    listed = ", ".join(f"{left}{name}{right}" for left, name, right in items)
    if shape == "inline":
        body = f"{before} The role must also have the following permissions: {listed}. {after}\n"
    elif shape == "note":
        body = f"|  |\n| --- |\n| Note |\n| {before} you must grant the following permissions: {listed} |\n"
    elif shape == "code":
        body = code("[ " + ", ".join(f'"{name}{right}"' for _, name, right in items) + " ]")
    else:
        body = f"{before} The permission {listed} is mentioned in passing. {after}\n"
    page = parse(body)
    names = stored_names(page)
    assert [name for name in names if name.endswith(tuple(TRAILING))] == []
    assert all(any(is_valid_name(provider, name) for provider in ("aws", "azure", "gcp", "m365"))
               for name in names)


# --- lost content -----------------------------------------------------------------------------

def test_lost_content_is_reported_naming_the_block():
    page = parse_markdown_page((PAGES / "18_content_lost.md").read_text())
    lost = [(w.block, w.message) for w in page.warnings if w.message.startswith("content-lost")]
    assert lost == [
        ("block 3 'Worker Instances'", "content-lost: the block is unbalanced (+1 '{' left open): '{'"),
        ("block 5 'List of permissions to manage worker disks'", "content-lost: the block is empty"),
        ("block 8 'Archive Jobs'",
         "content-lost: introduced as a list of permissions, but no permission names were found"),
        ("block 11 'Worker Network'", "content-lost: the block is unbalanced (+1 '[' left open): "
                                      "'[ \"Microsoft.Network/virtualNetworks/...'"),
    ]


def test_code_samples_that_promise_no_permissions_are_not_lost_content():
    page = parse("## Examples\n\nRun this:\n\n" + code("Get-Item { Write-Host") + code(""))
    assert page.warnings == []


def test_html_twin_reports_the_same_lost_content():
    md = parse_markdown_page((PAGES / "18_content_lost.md").read_text())
    html = parse_html_page((PAGES / "18_content_lost.html").read_text())
    assert html.warnings == md.warnings


# --- parse --json -----------------------------------------------------------------------------

def test_parse_json_carries_key_section_and_description_unique_within_a_page():
    result = CliRunner().invoke(cli, ["parse", "--json", str(PAGES / "16_operation_identity.md"),
                                      str(PAGES / "17_inline_lists.html")])
    assert result.exit_code == 0, result.output
    for record in map(json.loads, result.output.splitlines()):
        keys = [op["key"] for op in record["operations"]]
        assert all({"key", "section", "description"} <= set(op) for op in record["operations"])
        assert len(keys) == len(set(keys)) and all(keys)
    assert json.loads(result.output.splitlines()[1])["operations"][0]["section"] == "Restoring Virtual Machines"
