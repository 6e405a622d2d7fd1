"""One writer per catalog file, whatever path names it; lock files stay out of the user's folders."""

import os

import pytest
from click.testing import CliRunner

from catalog.storage.lock import CatalogLocked, catalog_lock, held_by, lock_path, sweep_stale_locks
from pipeline.cli.main import cli
from pipeline.jobs.ingest import ingest

SITE = os.path.join(os.path.dirname(__file__), "site")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_a_symlink_meets_the_lock_of_the_file_it_names(tmp_path):
    real = tmp_path / "c.db"
    link = tmp_path / "link.db"
    link.symlink_to(real)
    with catalog_lock(real):
        with pytest.raises(CatalogLocked, match=f"^{link} is being written by pid {os.getpid()}; wait"):
            ingest(link, SITE)
        assert held_by(link) == f"pid {os.getpid()}"
    assert held_by(link) is None


def test_the_second_writer_gets_one_line_and_exit_2(tmp_path):
    real = tmp_path / "c.db"
    (tmp_path / "link.db").symlink_to(real)
    with catalog_lock(tmp_path / "sub" / ".." / "c.db"):
        result = CliRunner().invoke(cli, ["ingest", SITE, "--db", str(tmp_path / "link.db")])
    assert result.exit_code == 2
    assert result.output == (f"Error: {tmp_path / 'link.db'} is being written by pid {os.getpid()}; "
                             "wait for that run to finish\n")


def test_no_lock_file_is_left_beside_the_catalog_or_in_the_cache(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    report = ingest(folder / "c.db", SITE)
    assert not report.failures
    assert sorted(p.name for p in folder.iterdir()) == ["c.db"]
    assert lock_path(folder / "c.db").parent == tmp_path / "cache" / "veeam-perms" / "locks"
    assert list(lock_path(folder / "c.db").parent.iterdir()) == []


def test_lock_files_left_by_killed_writers_are_swept_and_held_ones_kept(tmp_path):
    held = tmp_path / "held.db"
    with catalog_lock(held):
        folder = lock_path(held).parent
        stale = folder / "0123.lock"
        stale.write_text("pid 999999999, /gone/c.db")
        for path in (stale, lock_path(held)):
            os.utime(path, (0, 0))
        assert sweep_stale_locks(folder) == 1
        assert sorted(p.name for p in folder.iterdir()) == [lock_path(held).name]
        with pytest.raises(CatalogLocked):
            with catalog_lock(held):
                pass


def test_a_rejected_db_and_the_demo_leave_no_lock_beside_the_users_files(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    not_a_catalog = folder / "notadb.txt"
    not_a_catalog.write_text("hello\n")
    for command in (["ingest", SITE], ["migrate"]):
        result = CliRunner().invoke(cli, [*command, "--db", str(not_a_catalog)])
        assert result.exit_code == 2, result.output
    monkeypatch.chdir(folder)
    assert CliRunner().invoke(cli, ["demo", "--no-serve"]).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == ["demo.db", "notadb.txt"]
    assert not_a_catalog.read_text() == "hello\n"
