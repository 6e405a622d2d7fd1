"""Every HEAD page of the four real bundles parses, with full recall and no invention (needs ../shared)."""

import pytest

from pipeline.parse.lenient_json import clean_text
from pipeline.parse.sources import iter_page_files, parse_file

from corpus import GCP_DOCS, clone, listed_names, need


@pytest.fixture(scope="module")
def checkouts(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("bundles"))
    return [clone(name, root) / "docs" for name in ("vbaws", "vbazure", "vbr", "vb365")]


def test_every_head_page_parses_with_recall_and_no_invention(checkouts):
    pages = with_operations = 0
    missed, invented = [], []
    for page_file in iter_page_files([*checkouts, need(GCP_DOCS)]):
        text = page_file.path.read_text(encoding="utf-8")
        page = parse_file(page_file)  # an exception here fails the test
        pages += 1
        with_operations += bool(page.operations)
        emitted = {p.name for op in page.operations for p in op.permissions}
        wanted = {name.rstrip(",").strip() for name in listed_names(text)} - {""}
        missed += [(page_file.path.name, name) for name in sorted(wanted - emitted)]
        plain = clean_text(text)
        invented += [(page_file.path.name, name) for name in emitted if name not in plain]
    assert pages == 774 + 615 + 10492 + 817 + 35
    assert with_operations >= 65
    assert missed == []
    assert invented == []
