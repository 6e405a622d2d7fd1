"""The administrator's questions, answered once: every surface (CLI, website pages and their
JSON twins, canned queries, feeds, changelog, export) calls these functions.

They read through the views of `catalog.storage.views` (operation identity, the version in force
at a build or moment, what an operation requires). The semantic diff (rename matching,
statement changes) is Python; the canned queries reach it through the SQL functions that
`register_functions` adds to a connection, so a canned query is one thin `select`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields

from sqlite_utils import Database

from catalog.analysis.compare import CompareError, Comparison, change_events, compare_product, page_history, resolve
from catalog.analysis.diff import Change
from catalog.analysis.policy import permission_rows, policy_name
from catalog.analysis.policy_docs import documents_for
from catalog.analysis.upgrade import UpgradeDelta, upgrade_delta
from catalog.model import operation_texts

# The columns of a change row, as `Change.as_json` names them (the CSV export of /changes).
CHANGE_FIELDS = tuple("from" if field.name == "from_" else field.name for field in fields(Change))
UPGRADE_FIELDS = ("action", "permission", "provider", "risk", "optional", "required_by")


def default_window(db: Database, product: str) -> tuple[str, str]:
    """The product's last change (a build change or a correction): the day before it and its day."""
    events = change_events(db, product, limit=1)
    if not events:
        return "latest", "latest"
    return events[0]["before"], events[0]["date"]


def changes_between(db: Database, product: str, from_text: str | None = None,
                    to_text: str | None = None) -> dict:
    """What changed in a product between two points (builds, dates, latest, previous); without
    points, its last change. The rows are those of `veeam-perms diff --format json`."""
    if not from_text and not to_text:
        from_text, to_text = default_window(db, product)
    from_text, to_text = from_text or "previous", to_text or "latest"
    old, new = resolve(db, product, from_text), resolve(db, product, to_text)
    result = compare_product(db, product, old, new)
    return _answer(product, from_text, to_text, old.label, new.label, result)


def page_changes(db: Database, url: str) -> dict:
    """Every change along one page's history (`veeam-perms diff --page`)."""
    result = page_history(db, url)
    return _answer(None, None, None, None, None, result) | {"page": url}


def _answer(product, from_text, to_text, from_point, to_point, result: Comparison) -> dict:
    return {"product": product, "from": from_text, "to": to_text, "from_point": from_point,
            "to_point": to_point, "total": len(result.changes), "changes": result.changes,
            "pages_compared": result.pages_compared, "metadata_only": result.metadata_only,
            "rows": [change.as_json() for change in result.changes]}


def upgrade(db: Database, product: str, from_text: str | None, to_text: str | None,
            operations: tuple[str, ...] = ()) -> UpgradeDelta:
    """Grant / may revoke / unchanged from one point to another (default previous -> latest, or
    the day before the last change for a product with one build)."""
    if not from_text:
        try:
            resolve(db, product, "previous")
            from_text = "previous"
        except CompareError:
            from_text = default_window(db, product)[0]
    return upgrade_delta(db, product, from_text, to_text or "latest", operations)


def operation_documents(db: Database, operation_id: int) -> dict[str, str]:
    """One operation's policy in every format, as `veeam-perms policy` prints it for that
    operation alone at its build (optional permissions left out, as without --include-optional)."""
    row = db.execute("select product, build, title, kind from operation_identity where operation_id = ?",
                     [operation_id]).fetchone()
    if row is None or row[3] == "trust-policy":
        return {}
    rows = permission_rows(db, [operation_id], include_optional=False)
    return documents_for(rows, policy_name(row[0], row[1], [row[2]]))


def _json_rows(compute) -> str:
    """The rows as a JSON array, or one row with `error` when the question cannot be answered."""
    try:
        return json.dumps(compute(), ensure_ascii=False)
    except CompareError as error:
        return json.dumps([{"error": str(error)}])


def register_functions(conn: sqlite3.Connection) -> None:
    """`veeam_changes(product, from, to)` and `veeam_upgrade(product, from, to[, operation])`:
    JSON arrays of the answer rows, for canned queries over `json_each`."""
    db = Database(conn)

    def changes(product, from_text, to_text):
        return _json_rows(lambda: changes_between(db, product, from_text or None, to_text or None)["rows"])

    def upgrade_rows(product, from_text, to_text, operation=None):
        return _json_rows(lambda: upgrade(db, product, from_text or None, to_text or None,
                                          operation_texts(operation)).rows())

    def policy(operation_id):
        return json.dumps(operation_documents(db, int(operation_id)) if str(operation_id).isdigit() else {})

    conn.create_function("veeam_changes", 3, changes)
    conn.create_function("veeam_policy", 1, policy)
    conn.create_function("veeam_upgrade", 3, upgrade_rows)
    conn.create_function("veeam_upgrade", 4, upgrade_rows)
