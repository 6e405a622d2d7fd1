"""Every user error is one line and exit status 2, naming the real cause: unusable output paths,
a binary or endless products file, a port that is no port, a host that is not this machine's,
`restore` without `gh`, a full temporary disk; and `corpus check` streams what it hashes."""

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli.main import cli
from pipeline.jobs.corpus import load_pins

ROOT = Path(__file__).resolve().parents[1]
PAGES = Path(__file__).parent / "pages"


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("errors") / "c.db"
    assert run("ingest", PAGES, "--db", db_path).exit_code == 0
    return db_path


def one_line(result, message: str) -> None:
    assert (result.exit_code, result.output) == (2, f"Error: {message}\n"), result.output


def test_a_feed_dir_that_cannot_be_made_is_one_line(catalog, tmp_path):
    (tmp_path / "a-file").write_text("x")
    result = run("changelog", "--db", catalog, "--since", "2000-01-01", "--feed-dir", tmp_path / "a-file" / "feeds")
    one_line(result, f"--feed-dir {tmp_path / 'a-file' / 'feeds'}: cannot create the folder (Not a directory)")


def test_an_output_that_cannot_be_written_is_one_line(catalog, tmp_path):
    result = run("changelog", "--db", catalog, "--since", "2000-01-01", "--output", tmp_path / "no" / "c.md")
    one_line(result, f"--output {tmp_path / 'no' / 'c.md'}: cannot write it (No such file or directory)")


def test_an_export_folder_under_a_file_is_one_line(catalog, tmp_path):
    (tmp_path / "a-file").write_text("x")
    result = run("export", "--db", catalog, "--to", tmp_path / "a-file" / "export")
    one_line(result, f"{tmp_path / 'a-file' / 'export'}: Not a directory")


def test_a_binary_products_file_is_one_line(tmp_path):
    products = tmp_path / "products.toml"
    products.write_bytes(b"\x00\xff\xfebinary")
    for command in ("scrape", "update"):
        result = run(command, "--db", tmp_path / "c.db", "--products-file", products)
        one_line(result, f"--products-file {products}: not UTF-8 text (byte 1 is 0xff); is it the right file?")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["products.toml"]


def test_an_endless_products_file_is_refused_at_its_cap_in_seconds(tmp_path):
    started = time.monotonic()
    result = run("scrape", "--db", tmp_path / "c.db", "--products-file", "/dev/zero")
    one_line(result, "--products-file /dev/zero: larger than 1,000,000 bytes; is it the right file?")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_a_port_that_is_no_port_is_one_line(catalog, port):
    for command in (["serve", "--db", catalog], ["demo", "--no-serve"]):
        one_line(run(*command, "--port", port), f"--port {port}: not a TCP port (1 to 65535)")


def test_a_host_that_is_not_this_machines_is_named_as_such(catalog):
    one_line(run("serve", "--db", catalog, "--host", "203.0.113.5", "--port", "8125"),
             "--host 203.0.113.5: not an address of this machine")


def test_restore_without_gh_names_the_missing_tool(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no gh anywhere on it
    for args in (["restore", "--release", "catalog", "--to", tmp_path / "c.db"],
                 ["restore", "--release", "catalog-pending", "--head", "abc", "--to", tmp_path / "c.db"]):
        one_line(run(*args), "`gh` is not installed or not on PATH; this command needs the GitHub CLI: "
                             "https://cli.github.com/")
    assert not (tmp_path / "c.db").exists()


def test_restore_stops_a_gh_that_hangs_with_one_line(tmp_path, monkeypatch):
    gh = tmp_path / "gh"
    gh.write_text("#!/bin/sh\nexec sleep 60\n")
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr("pipeline.jobs.github.COMMAND_TIMEOUT", 0.5)
    one_line(run("restore", "--release", "catalog", "--to", tmp_path / "c.db"),
             "`gh release download` took over 0.5 s; stopped")
    assert not (tmp_path / "c.db").exists()


def test_a_full_temporary_disk_is_named_as_such_not_as_a_foreign_file(catalog, tmp_path, monkeypatch):
    """SQLite's own disk-full error (SQLITE_FULL), met while the snapshot is copied into the temp folder."""
    connect = sqlite3.connect
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)

    def into_a_full_disk(database, *args, **kwargs):
        conn = connect(database, *args, **kwargs)
        if str(database).startswith(str(temp)):
            conn.execute("pragma max_page_count = 2")
        return conn

    monkeypatch.setattr(sqlite3, "connect", into_a_full_disk)
    monkeypatch.setattr("pipeline.jobs.website.run_forwarding_signals", lambda args: 0)
    size = catalog.stat().st_size
    before = catalog.read_bytes()
    for args in (["serve", "--port", "8126"], ["publish", "--to", tmp_path / "site"]):
        result = run(*args, "--db", catalog)
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert result.output.startswith(f"Error: {temp}/veeam-perms-")
        assert result.output.endswith(f": cannot write the copy of {catalog} ({size:,} bytes): the disk is full "
                                      "(the temporary folder: free space there or set TMPDIR to a folder with room)\n")
    assert catalog.read_bytes() == before
    assert list(temp.iterdir()) == [] and not (tmp_path / "site").exists()


def user_namespaces() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


def test_a_really_full_temporary_disk_is_named_as_such(catalog, tmp_path):
    """The kernel's ENOSPC: TMPDIR on a 64 KB tmpfs mounted in a private mount namespace. A machine
    without user namespaces fails it, unless VEEAM_PERMS_SKIP_NAMESPACES=1 asks to skip it by name
    (GitHub's Ubuntu 24.04 runners restrict them; the disk-full test above runs everywhere)."""
    if not user_namespaces():
        if os.environ.get("VEEAM_PERMS_SKIP_NAMESPACES") == "1":
            pytest.skip("no user namespaces here, and VEEAM_PERMS_SKIP_NAMESPACES=1 asks to skip")
        pytest.fail("`unshare -rm` (user namespaces) is needed to mount a tiny tmpfs; set "
                    "VEEAM_PERMS_SKIP_NAMESPACES=1 to skip this test by name", pytrace=False)
    small = tmp_path / "small"
    small.mkdir()
    script = (f"mount -t tmpfs -o size=64k tmpfs {small} && "
              f"TMPDIR={small} {sys.executable} -m pipeline publish --db {catalog} --to {tmp_path / 'site'}")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"Error: {small}/veeam-perms-publish-")
    assert ": the disk is full (the temporary folder" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "site").exists()


# Run the CLI and report the process's own peak RSS (VmHWM: after exec, so not the forking test's).
MEASURED_CLI = ("import atexit, sys\n"
                "atexit.register(lambda: sys.stderr.write(next(line for line in open('/proc/self/status')"
                " if line.startswith('VmHWM'))))\n"
                "from pipeline.cli.main import cli\ncli()")


def test_corpus_check_streams_a_huge_file_in_bounded_memory(tmp_path):
    """A 1.5 GB (sparse) file where a pinned page should be: hashed in chunks, never read whole."""
    pin = load_pins().gcp_files[0]
    huge = tmp_path / "corpus" / "vbgcp" / pin.path
    huge.parent.mkdir(parents=True)
    with open(huge, "wb") as handle:
        handle.truncate(1_500_000_000)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", MEASURED_CLI, "corpus", "check", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"WRONG  {huge}: differs from blob {pin.blob}" in result.stdout
    peak_kb = int(result.stderr.split("VmHWM:")[1].split()[0])
    assert peak_kb < 150_000, f"peak RSS {peak_kb} KB"  # reading it whole took 1.5 GB and more
    assert elapsed < 60


def test_update_checks_its_output_folders_before_it_scrapes(tmp_path):
    result = run("update", "--db", tmp_path / "c.db", "--base-url", "http://127.0.0.1:9",
                 "--report", tmp_path / "missing" / "gate.md", "--changelog", tmp_path / "CHANGES.md")
    one_line(result, f"--report {tmp_path / 'missing' / 'gate.md'}: its folder {tmp_path / 'missing'} does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_update_writes_its_one_line_into_the_report_for_the_alert(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "notes.txt").write_text("mine")
    result = run("update", "--db", tmp_path / "c.db", "--base-url", "http://127.0.0.1:9", "--export-dir", export,
                 "--report", tmp_path / "gate.md", "--changelog", tmp_path / "CHANGES.md")
    message = (f"{export}: holds files the export did not write (notes.txt); export into an empty folder or "
               "a previous export's folder")
    one_line(result, message)
    assert (tmp_path / "gate.md").read_text() == f"# veeam-perms: scheduled run failed\n\n{message}\n"
