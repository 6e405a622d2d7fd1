"""Imports point one way: parsers and fetch never touch the catalog; the catalog uses only pure pipeline modules."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE_PIPELINE = {"blocks", "blocked", "codeformats", "discover", "extract", "fetch", "html_frontend",
                 "lenient_json", "limits", "m365", "markdown_frontend", "models", "names", "parse",
                 "render_html", "urls"}
ALLOWED_FROM_CATALOG = {"pipeline.models", "pipeline.names", "pipeline.urls"}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import inside the same package
                package = path.parent.name
                found.add(f"{package}.{node.module}" if node.module else package)
            elif node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize("name", sorted(PURE_PIPELINE))
def test_parsers_and_fetch_do_not_import_the_catalog(name):
    modules = imported_modules(ROOT / "pipeline" / f"{name}.py")
    assert not {m for m in modules if m == "catalog" or m.startswith("catalog.")}


def test_only_fetch_imports_an_http_client():
    for path in sorted((ROOT / "pipeline").glob("*.py")):
        if path.stem == "fetch":
            continue
        assert "httpx" not in imported_modules(path), path.name


@pytest.mark.parametrize("path", sorted((ROOT / "catalog").glob("*.py")), ids=lambda p: p.name)
def test_catalog_imports_only_pure_pipeline_modules(path):
    modules = {m for m in imported_modules(path) if m == "pipeline" or m.startswith("pipeline.")}
    assert modules <= ALLOWED_FROM_CATALOG, path.name
