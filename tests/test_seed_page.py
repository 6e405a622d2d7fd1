"""The page the mission was written from parses to exactly what it says (needs ../shared)."""

import pytest

from pipeline.parse.page import cross_check_full_lists, parse_markdown_page

from corpus import SEED, need

EXPECTED_DISTINCT = {
    "List of permissions to deploy a new backup appliance": 83,
    "List of permissions to connect an existing backup appliance": 35,
    "List of permissions to add a repository": 21,
    "List of permissions to encrypt repositories using AWS KMS keys": 5,
    "List of permissions to upgrade backup appliance to version 9": 48,
    "List of permissions to upgrade the Default Backup Restore IAM role": 16,
    "Full list of permissions": 114,
}
OPTIONAL = {"ec2:DeleteSubnet", "ec2:DeleteSecurityGroup", "ec2:DetachInternetGateway",
            "ec2:DeleteInternetGateway", "ec2:DeleteVpc"}


@pytest.fixture(scope="module")
def seed():
    return parse_markdown_page(need(SEED).read_text(encoding="utf-8"), path=str(SEED))


def test_seed_metadata(seed):
    assert seed.build == "10.0.0.232"
    assert str(seed.last_updated) == "2025-08-08"
    assert seed.product == "vbaws" and seed.guide == "guide" and seed.slug == "req_permissions"
    assert seed.warnings == []


def test_seed_has_seven_collapsible_operations_with_their_distinct_counts(seed):
    counts = {op.title: len({p.normalized for p in op.permissions}) for op in seed.operations
              if op.title in EXPECTED_DISTINCT}
    assert counts == EXPECTED_DISTINCT
    assert all(op.kind == "aws-policy" and op.identity == "IAM user" for op in seed.operations)


def test_deploy_operation_has_84_entries_in_two_statements(seed):
    deploy = seed.operations[0]
    assert len(deploy.permissions) == 84
    assert {p.sid for p in deploy.permissions} == {"CreateResources", "CleanupResources"}
    both = [p.sid for p in deploy.permissions if p.name == "iam:DetachRolePolicy"]
    assert sorted(both) == ["CleanupResources", "CreateResources"]


def test_unlabeled_policy_for_one_time_access_keys(seed):
    (unlabeled,) = [op for op in seed.operations if op.title not in EXPECTED_DISTINCT]
    # No collapsible title: the heading names it and the lead-in sentence describes it.
    assert unlabeled.title == "AWS IAM User Permissions"
    assert "one-time access keys" in unlabeled.description
    assert unlabeled.key == "aws iam user permissions"
    assert len({p.name for p in unlabeled.permissions}) == 5
    assert "iam:AttachUserPolicy" in {p.name for p in unlabeled.permissions}


def test_115_distinct_actions_in_policies(seed):
    assert len({p.normalized for op in seed.operations for p in op.permissions}) == 115


def test_prose_permission_is_a_mention_not_a_grant(seed):
    mentioned = {m.name for m in seed.mentions}
    granted = {p.name for op in seed.operations for p in op.permissions}
    assert "kms:GenerateDataKeyWithoutPlaintext" in mentioned
    assert "kms:GenerateDataKeyWithoutPlaintext" not in granted


def test_important_note_marks_its_five_actions_optional(seed):
    optional = {p.name for op in seed.operations for p in op.permissions if p.optional}
    assert optional == OPTIONAL
    full = next(op for op in seed.operations if op.title == "Full list of permissions")
    assert {p.name for p in full.permissions if p.optional} == OPTIONAL


def test_full_list_equals_the_union_of_the_six_specific_lists(seed):
    (check,) = cross_check_full_lists(seed)
    assert len(check.compared) == 6
    assert check.agrees, (check.missing_from_full, check.only_in_full)
