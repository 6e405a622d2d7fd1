"""Imports point one way, and the rule comes from the folders: a new module is checked by where it stands.

fetch -> parse -> model -> store -> analysis -> publish. The vocabulary (`catalog.model`, `catalog.urls`,
`catalog.names`) and the bounds on outside input (`catalog.limits`) are shared by everything; `catalog`
never imports `pipeline`; parsers touch neither the network nor SQLite; `datasette/plugins` reads
through `catalog` only. Imports inside functions count.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VOCABULARY = ("catalog.model", "catalog.urls", "catalog.names", "catalog.limits")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports, at module level or inside functions, relative imports resolved."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def modules_under(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def offending(path: Path, *forbidden: str, allowed: tuple[str, ...] = (), root: Path = ROOT) -> set[str]:
    found = imported_modules(path, root)
    return {m for m in found if within(m, *forbidden) and not (m == "catalog" or within(m, *allowed))}


def ids(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", modules_under("catalog"), ids=ids)
def test_catalog_imports_nothing_from_the_pipeline(path):
    assert offending(path, "pipeline") == set()


@pytest.mark.parametrize("path", modules_under("catalog/storage"), ids=ids)
def test_storage_does_not_import_analysis(path):
    assert offending(path, "catalog.analysis") == set()


@pytest.mark.parametrize("path", modules_under("pipeline/parse"), ids=ids)
def test_parsers_import_only_the_vocabulary(path):
    forbidden = ("pipeline.fetch", "pipeline.jobs", "pipeline.cli", "catalog", "httpx", "sqlite3", "sqlite_utils")
    assert offending(path, *forbidden, allowed=VOCABULARY) == set()


@pytest.mark.parametrize("path", modules_under("pipeline/fetch"), ids=ids)
def test_fetch_imports_neither_parsers_jobs_nor_storage(path):
    forbidden = ("pipeline.parse", "pipeline.jobs", "pipeline.cli", "catalog", "sqlite3", "sqlite_utils")
    assert offending(path, *forbidden, allowed=VOCABULARY) == set()


@pytest.mark.parametrize("path", modules_under("pipeline/jobs"), ids=ids)
def test_jobs_do_not_import_the_cli(path):
    assert offending(path, "pipeline.cli") == set()


@pytest.mark.parametrize("path", modules_under("datasette/plugins"), ids=ids)
def test_site_plugins_read_through_the_catalog_only(path):
    assert offending(path, "pipeline", "tests") == set()


@pytest.mark.parametrize("path", modules_under("pipeline") + modules_under("catalog"), ids=ids)
def test_production_code_never_imports_test_support(path):
    assert offending(path, "tests", "benchmarks") == set()


@pytest.mark.parametrize("path", modules_under("pipeline") + modules_under("catalog") + modules_under("datasette"),
                         ids=ids)
def test_only_fetch_imports_an_http_client(path):
    if within(module_name(path), "pipeline.fetch"):
        return
    assert offending(path, "httpx") == set()


def test_pipeline_has_no_loose_modules():
    loose = {p.name for p in (ROOT / "pipeline").glob("*.py")} - {"__init__.py", "__main__.py"}
    assert loose == set()


def test_the_rule_catches_imports_hidden_in_functions_and_relative_imports(tmp_path):
    (tmp_path / "catalog" / "analysis").mkdir(parents=True)
    sneaky = tmp_path / "catalog" / "analysis" / "sneaky.py"
    sneaky.write_text("def f():\n    from pipeline.parse.page import parse_markdown_page\n"
                      "from ..storage import store\n")
    assert offending(sneaky, "pipeline", root=tmp_path) == {"pipeline.parse.page",
                                                            "pipeline.parse.page.parse_markdown_page"}
    assert offending(sneaky, "catalog.storage", root=tmp_path) == {"catalog.storage", "catalog.storage.store"}


@pytest.mark.parametrize("path", modules_under("datasette/plugins"), ids=ids)
def test_site_plugins_stay_under_300_lines(path):
    assert len(Path(path).read_text(encoding="utf-8").splitlines()) <= 300
