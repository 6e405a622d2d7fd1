"""A run killed in the middle leaves the catalog exactly as it was (needs ../shared for a long run)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import table_counts
from sqlite_utils import Database

from pipeline.jobs.ingest import ingest

from corpus import BUNDLES, need

ROOT = Path(__file__).resolve().parents[1]


def start_ingest(db_path, source):
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "ingest", str(source), "--db", str(db_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_writes(db_path, process, timeout=60):
    """Return once the run's rollback journal has grown: its transaction is open and rows are going in."""
    journal = Path(f"{db_path}-journal")
    first = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        size = journal.stat().st_size if journal.exists() else 0
        if first and size > first:
            return
        first = first or size
        assert process.poll() is None, "the ingest ended before it could be interrupted"
        time.sleep(0.01)  # polling the journal, the one sign of progress the other process gives
    pytest.fail("the ingest never started writing")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_interrupted_ingest_leaves_previous_catalog_intact(tmp_path, how):
    db_path = tmp_path / "catalog.db"
    ingest(db_path, need(BUNDLES["vbazure"]))
    before = table_counts(db_path)
    process = start_ingest(db_path, need(BUNDLES["vbr"]))
    wait_for_writes(db_path, process)
    process.send_signal(how)
    process.wait(timeout=60)
    assert process.returncode != 0
    db = Database(db_path)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert table_counts(db_path) == before
    assert db.execute("select count(*) from runs where status = 'running'").fetchone()[0] == 0
    db.close()
