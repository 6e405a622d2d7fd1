"""The anomaly gate of a scheduled run: refuse to publish when the source looks broken.

Scrapers that auto-commit have published empty data for days after an upstream layout
change. A run trips the gate when pages lose most of their operations, when a bot-check
page is served, when many fetches fail, or when parse warnings spike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

from catalog.analysis.untrusted import markdown_text
from catalog.model import CONTENT_LOST_LIKE

MAX_FAILED_SHARE = 0.2
WARNING_SPIKE_FACTOR = 3.0
WARNING_SPIKE_MINIMUM = 5


@dataclass
class GateResult:
    run_id: int | None
    reasons: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def tripped(self) -> bool:
        return bool(self.reasons)

    def report(self) -> str:
        lines = ["# veeam-perms: scheduled run stopped by the anomaly gate", "",
                 "Nothing was published. Look at the source pages before accepting this run "
                 "(`veeam-perms scrape --accept-anomalies` stores held-back pages).", "", "## Why", ""]
        lines += [f"- {reason}" for reason in self.reasons]
        if self.details:
            # Details quote fetch errors and parse warnings (page text): literal text in the issue body.
            lines += ["", "## Details", ""] + [f"- {markdown_text(detail)}" for detail in self.details]
        return "\n".join(lines) + "\n"


def evaluate(db: Database, run_id: int | None) -> GateResult:
    result = GateResult(run_id)
    if run_id is None:
        return result
    fetches = list(db.query("select url, outcome, reason from fetches where run = ?", [run_id]))
    failed = [f for f in fetches if f["outcome"] == "failed"]
    bot = [f for f in failed if "bot-check" in (f["reason"] or "") or "almost no text" in (f["reason"] or "")]
    if bot:
        result.reasons.append(f"{len(bot)} pages were bot-check or empty pages instead of documentation")
        result.details += [f"{f['url']}: {f['reason']}" for f in bot]
    if fetches and len(failed) / len(fetches) > MAX_FAILED_SHARE:
        result.reasons.append(f"{len(failed)} of {len(fetches)} fetches failed "
                              f"(more than {MAX_FAILED_SHARE:.0%})")
        result.details += [f"{f['url']}: {f['reason']}" for f in failed if f not in bot]
    anomalies = list(db.query("select p.canonical_url, a.reason from anomalies a join pages p on p.id = a.page "
                              "where a.run = ?", [run_id]))
    if anomalies:
        result.reasons.append(f"{len(anomalies)} pages lost most or all of their operations (held back)")
        result.details += [f"{a['canonical_url']}: {a['reason']}" for a in anomalies]
    _warning_spike(db, run_id, result)
    _newly_lost(db, run_id, result)
    return result


def _newly_lost(db: Database, run_id: int, result: GateResult) -> None:
    """Pages of this run whose new version lost content (a `content-lost` warning) that the
    version before it did not: the source may be truncating pages."""
    rows = list(db.query(
        "select p.canonical_url, w.block, w.message from page_versions v join pages p on p.id = v.page "
        "join warnings w on w.page_version = v.id where v.run = ? and w.message like ? "
        "and exists (select 1 from page_versions old where old.page = v.page and old.id < v.id) "
        "and not exists (select 1 from page_versions old join warnings ow on ow.page_version = old.id "
        " where old.page = v.page and old.id < v.id and ow.block = w.block and ow.message = w.message) "
        "order by p.canonical_url, w.id", [run_id, CONTENT_LOST_LIKE]))
    if rows:
        pages = len({row["canonical_url"] for row in rows})
        result.reasons.append(f"{len(rows)} content-lost warnings on {pages} pages that read whole before")
        result.details += [f"{row['canonical_url']}: {row['block']}: {row['message']}" for row in rows]


def _warning_spike(db: Database, run_id: int, result: GateResult) -> None:
    now = db.execute("select count(w.id) * 1.0 / max(count(distinct v.id), 1), count(w.id) from page_versions v "
                     "left join warnings w on w.page_version = v.id where v.run = ?", [run_id]).fetchone()
    before = db.execute("select count(w.id) * 1.0 / max(count(distinct v.id), 1) from page_versions v "
                        "left join warnings w on w.page_version = v.id where v.run < ?", [run_id]).fetchone()
    per_version, total = now
    if total >= WARNING_SPIKE_MINIMUM and per_version > WARNING_SPIKE_FACTOR * max(before[0] or 0, 0.5):
        result.reasons.append(f"parse warnings spiked: {total} warnings, {per_version:.1f} per new page version "
                              f"against {before[0] or 0:.1f} before")
