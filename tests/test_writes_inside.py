"""Writes stay inside their target: export, publish, changelog feeds and the canary refuse (exit 2,
one line) a name or a symbolic link that would lead out, and nothing outside is written; product
and page names are checked where they enter the catalog."""

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_canary import CANARY_LIST, HERE, RECORDED_BASE

from catalog.paths import OutsideTarget, path_inside, write_inside
from pipeline.cli.main import cli

PAGES = Path(__file__).parent / "pages"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` and its bytes (links not followed)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink() else b"<link>")
            for p in sorted(folder.rglob("*")) if not p.is_dir() or p.is_symlink()}


@pytest.fixture
def outside(tmp_path):
    """A folder of the user's that no command here may touch, with a file in it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "precious.json").write_text("mine\n")
    return folder


@pytest.fixture
def catalog(tmp_path):
    db_path = tmp_path / "c.db"
    assert run("ingest", PAGES, "--db", db_path).exit_code == 0
    return db_path


def test_export_refuses_a_folder_whose_product_sub_folder_is_a_symlink_out(catalog, tmp_path, outside):
    target = tmp_path / "export"
    target.mkdir()
    (target / "vbaws").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    result = run("export", "--db", catalog, "--to", target)
    assert result.exit_code == 2
    assert result.output == (f"Error: {target}: holds a symbolic link (vbaws -> {outside}); the export writes "
                             "only real files and folders inside its folder: remove the link or export elsewhere\n")
    assert snapshot(outside) == before
    assert sorted(p.name for p in target.iterdir()) == ["vbaws"]


def test_re_export_refuses_a_link_planted_in_place_of_one_of_its_files(catalog, tmp_path, outside):
    target = tmp_path / "export"
    assert run("export", "--db", catalog, "--to", target).exit_code == 0
    page = next((target / "vbaws").glob("*.json"))
    page.unlink()
    page.symlink_to(outside / "precious.json")
    before = snapshot(outside)
    result = run("export", "--db", catalog, "--to", target)
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "holds a symbolic link" in result.output
    assert snapshot(outside) == before


def test_export_of_a_crafted_catalog_with_a_dot_dot_product_writes_nothing_outside(catalog, tmp_path, outside):
    conn = sqlite3.connect(catalog)
    conn.execute("pragma foreign_keys = off")
    conn.execute("update pages set product = '..' where product = 'vbaws'")
    conn.commit()
    conn.close()
    target = outside / "export"
    before = snapshot(outside)
    result = run("export", "--db", catalog, "--to", target)
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "which names a place outside the folder" in result.output
    assert {k: v for k, v in snapshot(outside).items() if not k.startswith("export")} == before


@pytest.mark.parametrize("product", ["../../../X", "..", "a/b", "VBR\n"])
def test_publish_of_a_catalog_whose_product_is_a_path_writes_nothing(catalog, tmp_path, outside, product):
    conn = sqlite3.connect(catalog)
    conn.execute("pragma foreign_keys = off")
    conn.execute("update pages set product = ? where product = 'vbaws'", [product])
    conn.commit()
    conn.close()
    target = outside / "build" / "site"
    before = snapshot(tmp_path)
    result = run("publish", "--db", catalog, "--to", target)
    assert result.exit_code == 2
    assert result.output == (f"Error: the catalog names a product {product!r}, which is not a product code "
                             "(lower-case letters, digits, '-' and '_'); nothing is written under such a name\n")
    assert snapshot(tmp_path) == before
    assert not (outside / "build").exists()


def test_publish_writes_only_inside_its_target(catalog, tmp_path):
    target = tmp_path / "site"
    before = {p for p in tmp_path.iterdir()}
    result = run("publish", "--db", catalog, "--to", target)
    assert result.exit_code == 0, result.output
    assert {p for p in tmp_path.iterdir()} == before | {target}
    assert (target / "project" / "constraints.txt").read_bytes() == (
        Path(__file__).resolve().parents[1] / ".ci" / "constraints.txt").read_bytes()
    assert "pip install --no-cache-dir -c ./project/constraints.txt ./project" in (target / "Dockerfile").read_text()


@pytest.mark.parametrize("relative", ["../x", "/etc/x", "a/../../x", "a\\..\\x", ".", ""])
def test_a_name_that_leaves_the_folder_is_refused(tmp_path, relative):
    with pytest.raises(OutsideTarget, match="names a place outside the folder"):
        write_inside(tmp_path / "t", relative, "x")
    assert sorted(tmp_path.iterdir()) == []


def test_a_link_on_the_way_is_refused_even_when_it_points_inside(tmp_path):
    (tmp_path / "t" / "real").mkdir(parents=True)
    (tmp_path / "t" / "alias").symlink_to(tmp_path / "t" / "real")
    with pytest.raises(OutsideTarget, match="refusing to write through the symbolic link"):
        path_inside(tmp_path / "t", "alias/x.json")
    assert write_inside(tmp_path / "t", "real/x.json", "ok") == tmp_path / "t" / "real" / "x.json"


@pytest.mark.parametrize("url", ["https://helpcenter.veeam.com/docs/../guide/fixture.html",
                                 "https://helpcenter.veeam.com/docs/vbr/guide/%2e%2e/fixture.html",
                                 "https://helpcenter.veeam.com/docs/v.b.r/guide/fixture.html"])
def test_ingest_refuses_a_page_whose_url_names_no_product_or_a_path(tmp_path, url):
    page = tmp_path / "pages" / "hostile.md"
    page.parent.mkdir()
    page.write_text((PAGES / "03_brace_list.md").read_text().replace(
        "https://helpcenter.veeam.com/docs/vbr/userguide/agent_fixture_permissions.html", url), encoding="utf-8")
    result = run("ingest", page.parent, "--db", tmp_path / "c.db")
    assert result.exit_code == 1
    assert f"failed: {page}: page URL {url!r}" in result.output
    assert sqlite3.connect(tmp_path / "c.db").execute("select count(*) from pages").fetchone() == (0,)


def test_a_products_file_with_a_path_for_a_key_is_refused(tmp_path):
    products = tmp_path / "products.toml"
    products.write_text('[products."../x"]\nname = "X"\nentry = ["/docs/x/guide/a.html"]\n')
    result = run("scrape", "--db", tmp_path / "c.db", "--products-file", products)
    assert result.exit_code == 2
    assert result.output == ("Error: products.toml: [products.../x]: a product key is a product code (lower-case "
                             "letters, digits, '-' and '_'), as in the helpcenter's URLs\n")
    assert not (tmp_path / "c.db").exists()


@pytest.fixture
def dumps(tmp_path):
    folder = tmp_path / "dumps"
    (folder / "vro" / "docs").mkdir(parents=True)
    (folder / "vro" / "docs" / "fixture_azure_recovery_permissions.md").write_text(
        (HERE / "pages" / "13_three_formats.md").read_text())
    (tmp_path / "canary.toml").write_text(CANARY_LIST)
    return folder


def canary(tmp_path, dumps):
    return run("canary", "--dumps", dumps, "--raw-dir", tmp_path / "raw", "--base-url", RECORDED_BASE,
               "--list", tmp_path / "canary.toml")


def test_the_canary_refuses_a_dump_reached_through_a_link_out_of_dumps(tmp_path, dumps, outside):
    (outside / "docs").mkdir()
    shutil.copy(HERE / "site" / "vbaws_iam_permissions.md", outside / "docs" / "iam_permissions.md")
    (dumps / "vbaws").symlink_to(outside, target_is_directory=True)
    result = canary(tmp_path, dumps)
    assert result.exit_code == 2
    assert result.output == (f"Error: {dumps / 'vbaws/docs/iam_permissions.md'}: leads outside the dumps folder "
                             f"{dumps} (through a symbolic link); the canary reads only files inside it\n")
    assert not (tmp_path / "raw").exists() or list((tmp_path / "raw").iterdir()) == []


@pytest.mark.default_cassette("canary_agree.yaml")
@pytest.mark.vcr
def test_the_canary_never_writes_a_raw_page_through_a_planted_link(tmp_path, dumps, outside):
    (dumps / "vbaws" / "docs").mkdir(parents=True)
    shutil.copy(HERE / "site" / "vbaws_iam_permissions.md", dumps / "vbaws" / "docs" / "iam_permissions.md")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "docs_vbaws_guide_iam_permissions.html").symlink_to(outside / "precious.json")
    before = snapshot(outside)
    result = canary(tmp_path, dumps)
    assert result.exit_code == 2
    assert result.output == (f"Error: {raw}: refusing to write through the symbolic link "
                             f"{raw / 'docs_vbaws_guide_iam_permissions.html'} ({'-'}> {outside / 'precious.json'}); "
                             "writes stay inside the folder\n")
    assert snapshot(outside) == before
