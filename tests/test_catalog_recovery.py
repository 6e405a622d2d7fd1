"""Crash recovery is SQLite's job, not the user's: a hot journal left by kill -9 is rolled back by
whichever command opens the catalog next; writers wait for another holder's transaction and then
fail in one line naming it; one writer per catalog file, whatever name (hard link) reaches it;
a foreign SQLite file that borrows the catalog's table names is refused and never written."""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.storage.lock import catalog_lock
from pipeline.cli.main import cli

PAGES = Path(__file__).parent / "pages"
DATA_TABLES = ("products", "releases", "pages", "page_versions", "operations", "grants", "permissions")

# A writer killed with -9 in the middle of a transaction big enough to spill pages into the file:
# the file is torn and its journal is hot (the one SQLite needs to undo the spilled pages).
KILLED_WRITER = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("pragma cache_size = 2")
conn.execute("begin immediate")
conn.execute("delete from grants")
conn.execute("update pages set title = 'torn by a killed writer'")
conn.execute("create table filler (x)")
conn.executemany("insert into filler values (?)", [(os.urandom(2000),) for _ in range(300)])
os.kill(os.getpid(), signal.SIGKILL)
"""

# Holds BEGIN IMMEDIATE (a `sqlite3` shell would do the same) until told to commit on stdin.
HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("begin immediate")
conn.execute("update products set name = name")
print("holding", flush=True)
sys.stdin.readline()
conn.execute("commit")
"""


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def content_digest(path: Path) -> str:
    """Every row of the catalog's data tables (bookkeeping columns aside), read by plain SQLite."""
    conn = sqlite3.connect(path)
    digest = hashlib.sha256()
    for table in DATA_TABLES:
        cursor = conn.execute(f"select * from {table} order by 1")
        kept = [i for i, column in enumerate(cursor.description) if not column[0].startswith("_")]
        for row in cursor:  # bookkeeping (`_last_seen`) moves when a writer sees the same pages again
            digest.update(repr([row[i] for i in kept]).encode())
    conn.close()
    return digest.hexdigest()


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """(catalog bytes, hot journal bytes, digest of the committed data)."""
    folder = tmp_path_factory.mktemp("crashed")
    db_path = folder / "catalog.db"
    assert run("ingest", PAGES, "--db", db_path).exit_code == 0
    committed = content_digest(db_path)
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(db_path)], timeout=60)
    assert killed.returncode == -9
    journal = Path(f"{db_path}-journal")
    assert journal.stat().st_size > 0
    return db_path.read_bytes(), journal.read_bytes(), committed


def hot_catalog(crashed, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "catalog.db"
    db_path.write_bytes(crashed[0])
    Path(f"{db_path}-journal").write_bytes(crashed[1])
    return db_path


def test_the_killed_writer_leaves_a_torn_file_and_a_hot_journal(crashed, tmp_path):
    db_path = hot_catalog(crashed, tmp_path)
    with pytest.raises(sqlite3.OperationalError) as raised:  # what read-only opens used to meet
        sqlite3.connect(f"file:{db_path}?mode=ro", uri=True).execute("select count(*) from pages").fetchone()
    assert raised.value.sqlite_errorname == "SQLITE_READONLY_ROLLBACK"
    shutil.copy(db_path, tmp_path / "torn.db")  # the file alone, without its journal
    assert content_digest(tmp_path / "torn.db") != crashed[2]


def commands(db_path: Path, folder: Path) -> dict[str, list]:
    policy = folder / "policy.json"
    policy.write_text('{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}')
    return {
        "stats": ["stats", "--db", db_path],
        "products": ["products", "--db", db_path],
        "diff": ["diff", "--db", db_path, "--product", "vbaws", "--from", "previous", "--to", "latest"],
        "upgrade": ["upgrade", "--db", db_path, "--product", "vbaws", "--from", "previous", "--to", "latest"],
        "changelog": ["changelog", "--db", db_path, "--since", "2020-01-01"],
        "export": ["export", "--db", db_path, "--to", folder / "export"],
        "policy": ["policy", "--db", db_path, "--product", "vbaws", "--operation", "appliance"],
        "check": ["check", policy, "--db", db_path, "--product", "vbaws", "--operation", "appliance"],
        "publish": ["publish", "--db", db_path, "--to", folder / "site"],
        "serve": ["serve", "--db", db_path, "--port", "8"],
        "ingest": ["ingest", PAGES, "--db", db_path],
        "migrate": ["migrate", "--db", db_path],
        "reparse": ["reparse", "--db", db_path, "--to", folder / "reparsed.db"],
    }


COMMANDS = ["stats", "products", "diff", "upgrade", "changelog", "export", "policy", "check", "publish", "serve",
            "ingest", "migrate", "reparse"]


def test_every_command_is_tried(tmp_path):
    assert sorted(commands(tmp_path / "c.db", tmp_path)) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_opens_a_catalog_with_a_hot_journal_and_finds_the_committed_data(
        crashed, tmp_path, monkeypatch, command):
    monkeypatch.setattr("pipeline.jobs.website.run_forwarding_signals", lambda args: 0)
    monkeypatch.setattr("pipeline.jobs.website.bind_problem", lambda host, port: None)
    db_path = hot_catalog(crashed, tmp_path / "work")
    result = run(*commands(db_path, tmp_path)[command])
    assert (result.exit_code, result.exception) == (0, None), result.output
    assert "not a veeam-perms catalog" not in result.output
    assert not Path(f"{db_path}-journal").exists()
    assert content_digest(db_path) == crashed[2]
    conn = sqlite3.connect(db_path)
    assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
    assert conn.execute("select count(*) from sqlite_master where name = 'filler'").fetchone() == (0,)


def start_holder(db_path: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "holding\n"
    return holder


def test_a_writer_waits_for_another_transaction_then_fails_in_one_line_naming_its_holder(
        tmp_path, monkeypatch):
    db_path = tmp_path / "c.db"
    assert run("ingest", PAGES / "03_brace_list.md", "--db", db_path).exit_code == 0
    before = content_digest(db_path)
    monkeypatch.setattr("catalog.storage.database.BUSY_TIMEOUT_SECONDS", 1.0)
    holder = start_holder(db_path)
    try:
        started = time.monotonic()
        result = run("ingest", PAGES, "--db", db_path)
        waited = time.monotonic() - started
    finally:
        holder.communicate("commit\n", timeout=30)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: {db_path} is locked by pid {holder.pid} ({sys.executable} -c ")
    assert result.output.endswith("which held its transaction open for more than 1 s; the run stopped and its "
                                  "open transaction was rolled back: run it again once that has finished\n")
    assert 1.0 <= waited < 30
    assert content_digest(db_path) == before


def test_a_writer_goes_on_when_the_other_transaction_ends_within_the_busy_timeout(tmp_path):
    db_path = tmp_path / "c.db"
    assert run("ingest", PAGES / "03_brace_list.md", "--db", db_path).exit_code == 0
    holder = start_holder(db_path)

    def commit():
        holder.stdin.write("commit\n")
        holder.stdin.flush()

    releaser = threading.Timer(1.5, commit)  # while the writer already waits
    releaser.start()
    try:
        result = run("ingest", PAGES, "--db", db_path)
    finally:
        releaser.join()
        holder.communicate(timeout=30)
    assert result.exit_code in (0, 3), result.output
    assert sqlite3.connect(db_path).execute("select count(*) from pages").fetchone()[0] > 1


def test_a_second_writer_through_a_hard_link_is_refused_in_one_line(tmp_path):
    db_path = tmp_path / "c.db"
    assert run("ingest", PAGES / "03_brace_list.md", "--db", db_path).exit_code == 0
    (tmp_path / "other").mkdir()
    linked = tmp_path / "other" / "same.db"
    os.link(db_path, linked)
    before = content_digest(db_path)
    with catalog_lock(db_path):
        for args in (["ingest", PAGES], ["migrate"]):
            result = run(*args, "--db", linked)
            assert result.exit_code == 2
            assert result.output == (f"Error: {linked} is being written by pid {os.getpid()}; "
                                     "wait for that run to finish\n")
    assert content_digest(db_path) == before


def forge(path: Path, with_migrations: bool) -> bytes:
    """An SQLite file of someone else's that happens to use the catalog's table names."""
    conn = sqlite3.connect(path)
    for table in ("products", "releases", "pages", "page_versions", "operations", "runs"):
        conn.execute(f"create table {table} (id integer primary key, note text)")
    if with_migrations:
        conn.execute("create table _sqlite_migrations (migration_set text, name text, applied_at text)")
        conn.execute("insert into _sqlite_migrations values ('veeam-perms', 'm001_core_tables', 'x')")
    conn.execute("create table mine (secret text)")
    conn.execute("insert into mine values ('keep me')")
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("with_migrations", [False, True], ids=["tables", "tables-and-record"])
@pytest.mark.parametrize("args", [["ingest", PAGES], ["migrate"], ["stats"], ["export", "--to", "x"],
                                  ["publish", "--to", "site"]], ids=lambda a: a[0])
def test_a_forged_sqlite_file_with_the_catalogs_table_names_is_refused_and_never_written(
        tmp_path, monkeypatch, args, with_migrations):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "forged.db"
    before = forge(path, with_migrations)
    result = run(*args, "--db", path)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith(f"Error: not a veeam-perms catalog: {path}")
    assert path.read_bytes() == before
    assert {p.name for p in tmp_path.iterdir()} - {"cache"} == {"forged.db"}


def test_reparse_never_adds_tables_to_a_forged_file(tmp_path):
    path = tmp_path / "forged.db"
    before = forge(path, False)
    result = run("reparse", "--db", path, "--to", tmp_path / "new.db")
    assert result.exit_code == 2
    assert result.output == f"Error: not a veeam-perms catalog: {path}\n"
    assert path.read_bytes() == before
    assert not (tmp_path / "new.db").exists()


def test_a_hot_journal_is_rolled_back_when_the_catalog_is_named_through_a_link(crashed, tmp_path):
    db_path = hot_catalog(crashed, tmp_path / "real")  # SQLite keeps the journal beside the real file
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "catalog.db"
    link.symlink_to(db_path)
    result = run("stats", "--db", link)
    assert result.exit_code == 0, result.output
    assert not Path(f"{db_path}-journal").exists()
    assert content_digest(db_path) == crashed[2]
