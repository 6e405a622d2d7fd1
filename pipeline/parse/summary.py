"""Human-readable summaries of parsed pages."""

from __future__ import annotations

from catalog.model import Page
from pipeline.parse.page import cross_check_full_lists


def format_page_summary(page: Page) -> str:
    where = page.path or page.url or "page"
    facts = [f"build {page.build or '?'}", f"updated {page.last_updated or '?'}"]
    lines = [f"{where}: {page.title or '(untitled)'} ({', '.join(facts)})"]
    for operation in page.operations:
        distinct = len({p.normalized for p in operation.permissions})
        optional = sum(1 for p in operation.permissions if p.optional)
        extra = f", {optional} optional" if optional else ""
        who = f" for {operation.identity}" if operation.identity else ""
        lines.append(f"  - {operation.label} [{operation.kind}{who}]: {distinct} permissions{extra}")
    for mention in page.mentions:
        lines.append(f"  ~ mentioned in prose: {mention.name}")
    for check in cross_check_full_lists(page):
        if check.agrees:
            lines.append(f"  = '{check.full_list}' equals the union of {len(check.compared)} lists")
        else:
            lines.append(f"  ! '{check.full_list}' disagrees with the union of its sibling lists: "
                         f"missing {list(check.missing_from_full)}, "
                         f"extra {list(check.only_in_full)}")
    for warning in page.warnings:
        lines.append(f"  ! warning: {warning.block}: {warning.message}")
    return "\n".join(lines)
