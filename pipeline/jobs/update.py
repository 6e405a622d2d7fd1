"""The scheduled job: scrape, gate, export diffable text, write the changelog of this run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from catalog.analysis.changelog import format_markdown
from catalog.analysis.compare import changes_since
from catalog.analysis.export import export_catalog, owned_files
from catalog.analysis.gate import evaluate
from catalog.storage.database import open_catalog
from catalog.storage.store import utc_now
from pipeline.jobs.scrape import scrape


@dataclass
class UpdateOutcome:
    status: str  # changed | unchanged | gated
    summary: str
    report_path: Path | None = None
    changelog_path: Path | None = None


def _emit_output(name: str, value: str) -> None:
    """Tell a GitHub Actions step what happened (no-op elsewhere)."""
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(f"{name}={value}\n")


def update(db_path: Path, export_dir: Path, changelog_path: Path, report_path: Path,
           **scrape_options) -> UpdateOutcome:
    started = utc_now()
    owned_files(export_dir)  # refuse a folder the export does not own before the long scrape
    report = scrape(db_path, **scrape_options)
    db = open_catalog(db_path)
    try:
        gate = evaluate(db, report.run_id)
        if gate.tripped:
            report_path.write_text(gate.report() + "\n## Scrape summary\n\n```\n" + report.summary()
                                   + "\n```\n", encoding="utf-8")
            _emit_output("status", "gated")
            return UpdateOutcome("gated", report.summary(), report_path=report_path)
        export_catalog(db, export_dir)
        since = changes_since(db, "0000-01-01", run_id=report.run_id)
        if not (since.changes or since.new_pages):
            _emit_output("status", "unchanged")
            return UpdateOutcome("unchanged", report.summary())
        names = {row[0]: row[1] for row in db.execute("select code, name from products")}
        changelog_path.write_text(format_markdown(since.changes, f"Permission changes seen {started[:10]}",
                                                  names, since.new_pages) + "\n", encoding="utf-8")
        _emit_output("status", "changed")
        return UpdateOutcome("changed", report.summary(), changelog_path=changelog_path)
    finally:
        db.close()
