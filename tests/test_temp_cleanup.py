"""Bundle clones and site folders: removed on SIGTERM, and at the next start when a kill -9 left them."""

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pipeline.jobs.dumps import open_repository
from pipeline.jobs.tempdirs import BUNDLE_PREFIX, SITE_PREFIX, owned_tempdir, sweep_leftovers
from pipeline.jobs.website import served_catalog, served_name

ROOT = Path(__file__).resolve().parents[1]
HOLD_A_CLONE = """
import sys, time
from pathlib import Path
from pipeline.jobs.dumps import open_repository
from pipeline.jobs.tempdirs import sigterm_exits
with sigterm_exits(), open_repository(Path(sys.argv[1])) as repo:
    print(repo.parent, flush=True)
    time.sleep(120)
"""


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setenv("TMPDIR", str(root))
    return root


@pytest.fixture
def bundle(tmp_path):
    repo = tmp_path / "dump"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "page.md").write_text("# A page\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    subprocess.run([*git, "bundle", "create", "-q", str(tmp_path / "dump.bundle"), "--all"], check=True)
    return tmp_path / "dump.bundle"


def start_holder(bundle: Path, temp_root: Path):
    process = subprocess.Popen([sys.executable, "-c", HOLD_A_CLONE, str(bundle)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(temp_root), "PYTHONPATH": str(ROOT)})
    folder = Path(process.stdout.readline().strip())
    assert folder.parent == temp_root and folder.name.startswith(BUNDLE_PREFIX)
    assert (folder / "r" / "HEAD").exists()
    return process, folder


def test_sigterm_during_a_bundle_ingest_removes_the_clone(bundle, temp_root):
    process, folder = start_holder(bundle, temp_root)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert not folder.exists()


def test_a_clone_left_by_kill_9_is_removed_at_the_next_start(bundle, temp_root):
    process, folder = start_holder(bundle, temp_root)
    running, running_folder = start_holder(bundle, temp_root)
    try:
        process.kill()
        process.wait(timeout=30)
        assert folder.exists()
        with open_repository(bundle):
            assert not folder.exists()  # the dead run's clone is gone
            assert running_folder.exists()  # a running ingest's clone is left alone
    finally:
        running.kill()
        running.wait(timeout=30)
    assert sweep_leftovers(BUNDLE_PREFIX) == [running_folder]
    assert list(temp_root.iterdir()) == []


def test_site_folders_of_dead_processes_are_swept_and_live_ones_kept(tmp_path, temp_root):
    dead = temp_root / f"{SITE_PREFIX}dead"
    dead.mkdir()
    (dead / ".veeam-perms-owner").write_text("999999999 1\n")
    mine = owned_tempdir(SITE_PREFIX)
    link = served_name(tmp_path / "demo.db")
    assert link.name == "catalog.db" and link.parent.name.startswith(SITE_PREFIX)
    assert not dead.exists() and mine.exists() and link.parent.exists()


def test_a_served_catalog_link_folder_is_removed_after_its_block(tmp_path, temp_root):
    db_path = tmp_path / "demo.db"
    db_path.write_bytes(b"")
    with served_catalog(db_path) as link:
        assert link.name == "catalog.db" and link.resolve() == db_path.resolve()
        assert link.parent.parent == temp_root
    assert list(temp_root.iterdir()) == []


def test_serving_the_same_catalog_twice_in_a_process_makes_one_folder(tmp_path, temp_root):
    assert served_name(tmp_path / "twice.db") == served_name(tmp_path / "twice.db")
    assert len(list(temp_root.glob(SITE_PREFIX + "*"))) == 1
