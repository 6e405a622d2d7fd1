import pytest

from pipeline.parse.codeformats import read_code
from pipeline.parse.lenient_json import RecoveryError, loads_lenient


def test_strict_json_needs_no_repair():
    assert loads_lenient('{"a": [1, 2]}') == ({"a": [1, 2]}, [])


def test_missing_comma_between_array_items_is_inserted():
    assert loads_lenient('["s3:GetObject"  "s3:PutObject"]') == (
        ["s3:GetObject", "s3:PutObject"], ["inserted missing commas or quotes"])


def test_unclosed_quote_in_a_name_is_closed():
    value, repairs = loads_lenient('["ec2:A",  "ec2:B,   "ec2:C"]')
    assert value == ["ec2:A", "ec2:B", "ec2:C"]


def test_escaped_star_and_non_breaking_spaces_are_cleaned():
    assert loads_lenient('{\u00a0"Resource":\u00a0"\\*"}') == ({"Resource": "*"}, [])


def test_brace_list_is_read_as_a_list():
    assert loads_lenient('{ "ec2:A", "ec2:B" }') == (
        ["ec2:A", "ec2:B"], ["read a quoted list that is not JSON"])


def test_fragment_without_outer_braces_is_wrapped():
    assert loads_lenient('"actions": ["Microsoft.Compute/disks/read"], "notActions": []') == (
        {"actions": ["Microsoft.Compute/disks/read"], "notActions": []},
        ["wrapped a fragment without outer braces"])


def test_unrecoverable_text_raises_with_the_position():
    with pytest.raises(RecoveryError) as error:
        loads_lenient('{"a": (1)}')
    assert str(error.value) == "not JSON even after repairs: Expecting value at character 6"


def test_deep_nesting_is_refused_not_crashed():
    with pytest.raises(RecoveryError, match="nesting deeper than 64 levels"):
        loads_lenient("[" * 10_000 + "]" * 10_000)


def test_powershell_is_not_permissions():
    assert read_code('Get-VBOJob -Name "Daily" | Start-VBOJob') is None


def test_trust_policy_is_kind_trust_policy_with_its_principal():
    reading = read_code('{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
                        '"Principal": {"Service": "ec2.amazonaws.com"}}]}')
    assert reading.kind == "trust-policy"
    assert reading.principals == ["Service:ec2.amazonaws.com"]


def test_host_names_are_not_gcp_permissions():
    assert read_code("storage.googleapis.com compute.googleapis.com") is None
    assert read_code("compute.disks.get compute.disks.list").kind == "gcp-list"


def test_broken_policy_falls_back_to_a_token_scan_with_a_problem():
    reading = read_code('{"Statement": [{"Effect": "Deny", "Action": ["ec2:A" "ec2:B"] ( }')
    assert [p.name for p in reading.permissions] == ["ec2:A", "ec2:B"]
    assert reading.problem.endswith(
        "recovered 2 names by scanning quoted strings (the block contains a Deny statement: "
        "effects are unknown)")
