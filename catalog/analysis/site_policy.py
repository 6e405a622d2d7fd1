"""The website's policy pages, as plain data: the merged policy of operations a person picks on a
product page, and the upgrade page (grant / may revoke and the combined policy at the target).

Both call the one policy definition (`catalog.analysis.policy`: selection, merge, documents) that
`veeam-perms policy` calls; the page only adds how to paste it (`parts_of`: a long AWS policy is
several documents) and the CLI command that gives the same answer.
"""

from __future__ import annotations

import shlex

from sqlite_utils import Database

from catalog.analysis import questions
from catalog.analysis.compare import product_builds, resolve
from catalog.analysis.policy import (
    Selection,
    operations_at,
    permission_rows,
    policy_name,
    select_operations,
    select_permissions,
)
from catalog.analysis.policy_docs import documents_for, parts_of
from catalog.analysis.site_data import product_row
from catalog.model import bounded_int, operation_matches

MAX_PICKED = 500  # more ids than any product has operations at one point


def picked_ids(values: list[str]) -> tuple[int, ...]:
    """Operation ids from a form's `id` fields: digits only, each once, at most `MAX_PICKED`."""
    ids = dict.fromkeys(number for value in values if (number := bounded_int(value)) is not None)
    return tuple(ids)[:MAX_PICKED]


def cli_command(db: Database, selection: Selection, include_optional: bool) -> str | None:
    """The `veeam-perms policy` command that prints the same policy, when the picked operations'
    "Section › Title" labels name exactly the picked set (the CLI matches text, the page picks rows)."""
    labels = [label for _, label in selection.operations]
    same = select_permissions(db, selection.product, selection.build, tuple(labels), include_optional)
    if same.ids != selection.ids:
        return None
    words = ["veeam-perms", "policy", "--product", selection.product, "--build", selection.build]
    for label in labels:
        words += ["--operation", label]
    if include_optional:
        words.append("--include-optional")
    return " ".join(shlex.quote(word) for word in words)


def merged_policy_page(db: Database, code: str, at: str | None, ids: tuple[int, ...],
                       include_optional: bool = False) -> dict | None:
    """The one policy of the picked operations, equal to `veeam-perms policy --product P --build B
    --operation ...` for the same operations (a CompareError says what is wrong with the pick)."""
    product = product_row(db, code)
    if product is None:
        return None
    selection = select_operations(db, code, at, ids, include_optional)
    documents = selection.documents()
    every = permission_rows(db, selection.ids, True)
    required = {(row["provider"], row["name"].lower()) for row in every if not row["optional"]}
    optional = {(row["provider"], row["name"].lower()) for row in every if row["optional"]} - required
    marks = ",".join("?" * len(selection.ids))
    titles = dict(db.execute(f"select operation_id, page_title from operation_identity where operation_id in ({marks})",
                             selection.ids).fetchall())
    return {**product, "build": selection.build, "ids": selection.ids, "include_optional": include_optional,
            "operations": [{"id": op_id, "page": page, "page_title": titles.get(op_id), "label": label}
                           for op_id, (page, label) in zip(selection.ids, selection.operations, strict=True)],
            "policy_name": selection.name, "documents": documents, "parts": parts_of(documents),
            "optional_only": len(optional), "cli": cli_command(db, selection, include_optional)}


def upgrade_page(db: Database, code: str, from_text: str | None, to_text: str | None,
                 operations: tuple[str, ...] = ()) -> dict | None:
    """Grant / may revoke (risky first) and the combined policy of the chosen operations at `to`."""
    product = product_row(db, code)
    if product is None:
        return None
    delta = questions.upgrade(db, code, from_text, to_text, operations)
    chosen = [op for op in operations_at(db, code, resolve(db, code, delta.to_build))
              if operation_matches(op["section"], op["title"], operations)]
    documents = documents_for(permission_rows(db, [op["id"] for op in chosen], False),
                              policy_name(code, delta.to_build, list(operations) or ["all operations"]))
    return {**product, "builds": product_builds(db, code), "delta": delta, "answer": delta.as_json(),
            "operations": list(operations), "documents": documents, "parts": parts_of(documents),
            "risky": sum(1 for item in delta.add if item.risk)}
