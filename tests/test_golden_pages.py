"""Golden files: every authored page under tests/pages has its expected parse in tests/expected.

Adding a fixture needs no new test code; run `pytest --regen-golden` once and review the diff.
"""

import json
from pathlib import Path

import pytest

from pipeline.parse.sources import PageFile, parse_file

HERE = Path(__file__).parent
PAGES = sorted((HERE / "pages").glob("*.*"))


def record_of(path: Path) -> dict:
    record = parse_file(PageFile(path)).to_json_record()
    record["path"] = path.name
    return record


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_page_parses_to_its_golden_record(page, regen_golden):
    expected_file = HERE / "expected" / f"{page.name}.json"
    actual = record_of(page)
    if regen_golden or not expected_file.exists():
        expected_file.parent.mkdir(exist_ok=True)
        expected_file.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
        if not regen_golden:
            pytest.fail(f"{expected_file.name} was missing and has been written; review and commit it")
    assert actual == json.loads(expected_file.read_text())


def test_every_one_of_the_ten_formats_has_a_golden_page():
    kinds = set()
    for page in PAGES:
        record = json.loads((HERE / "expected" / f"{page.name}.json").read_text())
        kinds.update(op["kind"] for op in record["operations"])
        if record["mentions"]:
            kinds.add("prose")
    assert kinds >= {"aws-policy", "action-list", "trust-policy", "azure-role", "gcp-list",
                     "m365-table", "prose", "inline-list"}
