"""Every catalog open goes through catalog/storage/database.py::open_catalog (tests may open SQLite)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPENER = Path("catalog/storage/database.py")
# The site plugin wraps the read-only connection Datasette opened itself; it opens no file.
# The SQL functions of the query layer are registered on a connection Datasette hands over.
WRAPS_A_CONNECTION = {Path("datasette/plugins/veeam_site.py"), Path("catalog/analysis/questions.py")}


def direct_opens(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "Database" or (name == "connect" and getattr(func.value, "id", "") == "sqlite3"):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_opens_sqlite_but_open_catalog():
    modules = [p.relative_to(ROOT) for folder in ("pipeline", "catalog", "datasette", "benchmarks")
               for p in (ROOT / folder).rglob("*.py")]
    assert len(modules) > 50
    opens = [line for module in modules if module != OPENER and module not in WRAPS_A_CONNECTION
             for line in direct_opens(ROOT / module)]
    assert opens == []
    assert direct_opens(ROOT / OPENER)  # the check sees a real open


def test_the_site_plugin_only_wraps_datasettes_connection():
    assert [line.split(": ", 1)[1] for line in direct_opens(ROOT / "datasette/plugins/veeam_site.py")] == [
        "Database(conn)"]
