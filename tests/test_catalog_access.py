"""Who may change a catalog file: read commands never do, foreign files are refused, unusable files
and bad input give one line and exit status 2, and serve/publish read a consistent snapshot."""

import shutil
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from catalog.storage.database import CatalogError, open_catalog, snapshot_catalog
from pipeline.cli.main import cli

PAGES = Path(__file__).parent / "pages"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


POLICY = '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("access") / "catalog.db"
    assert run("ingest", PAGES, "--db", db_path).exit_code == 0
    return db_path


def read_commands(db, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(POLICY)
    return {
        "stats": ["stats", "--db", db],
        "diff": ["diff", "--db", db, "--product", "vbaws", "--from", "previous", "--to", "latest"],
        "upgrade": ["upgrade", "--db", db, "--product", "vbaws", "--from", "previous", "--to", "latest"],
        "changelog": ["changelog", "--db", db, "--since", "2020-01-01"],
        "export": ["export", "--db", db, "--to", tmp_path / "export"],
        "policy": ["policy", "--db", db, "--product", "vbaws", "--operation", "appliance"],
        "check": ["check", policy, "--db", db, "--product", "vbaws", "--operation", "appliance"],
        "publish": ["publish", "--db", db, "--to", tmp_path / "site"],
        "serve": ["serve", "--db", db, "--port", free_port()],
    }


@pytest.mark.parametrize("content", ["foreign-sqlite", "text", "empty"])
@pytest.mark.parametrize("command", ["stats", "diff", "upgrade", "changelog", "export", "policy", "check",
                                     "publish", "serve"])
def test_read_commands_refuse_a_file_that_is_not_a_catalog_and_leave_it_alone(tmp_path, command, content):
    path = tmp_path / "other.db"
    if content == "foreign-sqlite":
        conn = sqlite3.connect(path)
        conn.execute("create table notes (id integer primary key, text)")
        conn.commit()
        conn.close()
    else:
        path.write_bytes(b"hello, not a database\n" if content == "text" else b"")
    before = path.read_bytes()
    result = run(*read_commands(path, tmp_path)[command])
    assert (result.exit_code, result.output) == (2, f"Error: not a veeam-perms catalog: {path}\n")
    assert path.read_bytes() == before
    assert not (tmp_path / "export").exists() and not (tmp_path / "site").exists()


def test_read_commands_open_the_catalog_read_only(catalog, tmp_path, monkeypatch):
    """Every read command works on a catalog SQLite may only read; none adds or changes a byte."""
    before = catalog.read_bytes()
    monkeypatch.setattr("pipeline.jobs.website.run_forwarding_signals", lambda command: 0)
    for name, args in read_commands(catalog, tmp_path).items():
        result = run(*args)
        assert result.exit_code in (0, 1), (name, result.output)  # check: 1 = something missing
    assert catalog.read_bytes() == before


def test_pending_migrations_are_named_not_applied(catalog, tmp_path):
    old = tmp_path / "old.db"
    shutil.copy(catalog, old)
    conn = sqlite3.connect(old)
    last = conn.execute("select name from _sqlite_migrations order by rowid desc limit 1").fetchone()[0]
    conn.execute("delete from _sqlite_migrations where name = ?", [last])
    conn.commit()
    conn.close()
    before = old.read_bytes()
    result = run("stats", "--db", old)
    assert (result.exit_code, result.output) == (2, (
        f"Error: {old}: the catalog predates this veeam-perms (pending migrations: {last}); "
        f"run `veeam-perms migrate --db {old}` first\n"))
    assert old.read_bytes() == before


@pytest.mark.parametrize("args,message", [
    (["diff", "--product", "vbaws", "--from", "2026-99-99", "--to", "latest"],
     "'2026-99-99' is not a real date (YYYY-MM-DD)"),
    (["diff", "--product", "vbaws", "--from", "2026-13-45", "--to", "latest"],
     "'2026-13-45' is not a real date (YYYY-MM-DD)"),
    (["upgrade", "--product", "vbaws", "--from", "previous", "--to", "latest", "--operation", "zzz"],
     "no operation of vbaws at build 9.1.0.27 or build 10.0.0.232 matches 'zzz'"),
    (["upgrade", "--product", "nope", "--from", "previous", "--to", "latest"],
     "no product 'nope' in the catalog; products: vbaws, vbazure, vbgc, vbo365, vbr, vro"),
    (["changelog", "--since", "2020-01-01", "--product", "nope"],
     "no product 'nope' in the catalog; products: vbaws, vbazure, vbgc, vbo365, vbr, vro"),
    (["changelog", "--since", "2026-02-30"], "--since '2026-02-30' is not a YYYY-MM-DD date"),
])
def test_bad_input_is_one_line_and_exit_2_never_an_empty_answer(catalog, args, message):
    result = run(*args, "--db", catalog)
    assert (result.exit_code, result.output) == (2, f"Error: {message}\n")


def test_a_read_only_catalog_refuses_writers_in_one_line(catalog, tmp_path, monkeypatch):
    import catalog.storage.database as database

    path = tmp_path / "ro.db"
    shutil.copy(catalog, path)
    # The tests run as root, whom file modes do not stop: open the file the way SQLite opens a
    # read-only file instead.
    monkeypatch.setattr(database, "CatalogDatabase", lambda p: Database(sqlite3.connect(
        f"file:{Path(p).resolve()}?mode=ro", uri=True)))
    result = run("ingest", PAGES / "03_brace_list.md", "--db", path)
    assert (result.exit_code, result.output) == (
        2, f"Error: {path}: the catalog is read-only; a writing command needs write access to it\n")


def test_a_full_disk_is_one_line_and_the_catalog_is_unchanged(tmp_path, monkeypatch):
    import catalog.storage.database as database

    path = tmp_path / "full.db"
    open_catalog(path).close()
    before = path.read_bytes()
    real = database.migrate

    def no_room_left(db):
        real(db)
        pages = db.execute("pragma page_count").fetchone()[0]
        db.execute(f"pragma max_page_count = {pages + 2}")  # the disk fills two pages later

    monkeypatch.setattr(database, "migrate", no_room_left)
    result = run("ingest", PAGES, "--db", path)
    assert (result.exit_code, result.output) == (
        2, f"Error: {path}: database or disk is full (the run was rolled back; free space and run it again)\n")
    assert path.read_bytes() == before


def test_legacy_rows_without_a_product_do_not_break_readers(catalog, tmp_path):
    legacy = tmp_path / "legacy.db"
    shutil.copy(catalog, legacy)
    db = Database(legacy)
    db.execute("update pages set product = null, family = null, canonical_url = 'https://evil.example/x.html' "
               "where canonical_url like '%fixture_kms.html'")
    db.conn.commit()
    db.close()
    policy = tmp_path / "p.json"
    policy.write_text(POLICY)
    for args in (["diff", "--product", "vbaws", "--from", "2020-01-01", "--to", "latest"],
                 ["diff", "--page", "https://evil.example/x.html"], ["changelog", "--since", "2020-01-01"],
                 ["export", "--to", tmp_path / "export"], ["stats"], ["publish", "--to", tmp_path / "site"],
                 ["check", policy, "--product", "vbaws", "--operation", "appliance"]):
        result = run(*args, "--db", legacy)
        assert result.exit_code == 0 and result.exception is None, (args, result.output)


def spill_a_write(path: Path) -> sqlite3.Connection:
    """A writer in the middle of a large transaction: pages already spilled into the file."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("pragma cache_size = 5")
    writer.execute("create table filler (x)")
    writer.execute("begin")
    for _ in range(2000):
        writer.execute("insert into filler values (?)", [b"x" * 4000])
    writer.execute("update pages set title = 'changed'")
    return writer


def is_sound(path: Path) -> bool:
    try:
        return sqlite3.connect(path).execute("pragma integrity_check").fetchall() == [("ok",)]
    except sqlite3.DatabaseError:
        return False


def test_a_snapshot_taken_mid_write_is_sound(catalog, tmp_path):
    source = tmp_path / "c.db"
    shutil.copy(catalog, source)
    writer = spill_a_write(source)
    shutil.copy(source, tmp_path / "plain.db")  # what `publish` did: a torn file
    assert not is_sound(tmp_path / "plain.db")
    taken = {}
    thread = threading.Thread(target=lambda: taken.update(path=snapshot_catalog(source, tmp_path / "snap.db")))
    thread.start()
    time.sleep(0.3)
    writer.execute("commit")
    thread.join()
    assert is_sound(taken["path"])
    assert sqlite3.connect(taken["path"]).execute("select count(*) from filler").fetchone() == (2000,)


def test_a_snapshot_refuses_while_a_run_holds_the_file(catalog, tmp_path):
    source = tmp_path / "c.db"
    shutil.copy(catalog, source)
    writer = spill_a_write(source)
    with pytest.raises(CatalogError, match=f"^{source} is being written by another run; try again once"):
        snapshot_catalog(source, tmp_path / "snap.db", wait_seconds=0.3)
    writer.execute("rollback")
    assert not (tmp_path / "snap.db").exists()


def test_serve_serves_a_snapshot_and_removes_it_afterwards(catalog, monkeypatch):
    served = []

    def fake_run(args):
        path = Path(args[args.index("-i") + 1])
        served.append((path, path.exists(), sqlite3.connect(path).execute("pragma integrity_check").fetchone()))
        return 0

    monkeypatch.setattr("pipeline.jobs.website.run_forwarding_signals", fake_run)
    result = run("serve", "--db", catalog, "--port", free_port())
    assert result.exit_code == 0, result.output
    ((path, existed, check),) = served
    assert existed and check == ("ok",) and path != catalog and path.name == "catalog.db"
    assert not path.parent.exists()


@pytest.mark.parametrize("url", [
    "javascript://helpcenter.veeam.com/docs/vbaws/guide/x.html%0aalert(document.domain)//x.html",
    "http://helpcenter.veeam.com/docs/vbaws/guide/x.html", "https://helpcenter.veeam.com.evil.example/docs/vbaws/guide/x.html",
    "https://evil.example/docs/vbaws/guide/x.html"])
def test_ingest_refuses_a_page_url_outside_the_helpcenter(tmp_path, url):
    page = tmp_path / "pages" / "hostile.md"
    page.parent.mkdir()
    page.write_text((PAGES / "03_brace_list.md").read_text().replace(
        "https://helpcenter.veeam.com/docs/vbr/userguide/agent_fixture_permissions.html", url), encoding="utf-8")
    assert url in page.read_text()
    result = run("ingest", page.parent, "--db", tmp_path / "c.db")
    assert result.exit_code == 1
    assert f"failed: {page}: page URL {url!r} is not an https://helpcenter.veeam.com/ page" in result.output
    assert Database(tmp_path / "c.db")["pages"].count == 0


def test_the_store_refuses_what_ingest_would(tmp_path):
    from catalog.model import Page
    from catalog.storage.store import CatalogWriter, Observation
    from catalog.urls import UrlRejected

    db = open_catalog(tmp_path / "c.db")
    writer = CatalogWriter(db, "dir", "test")
    with pytest.raises(UrlRejected, match="is not an https://helpcenter.veeam.com/ page"), writer.run():
        writer.save_page(Page(url="javascript:alert(1)", source_kind="html"), Observation("2026-01-01", "dir"))
    assert db["pages"].count == 0
