"""`veeam-perms corpus fetch/check`, offline: a local bare repository stands in for a public dump."""

import hashlib
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli.main import cli
from pipeline.jobs.corpus import (
    CorpusError,
    DumpPin,
    FilePin,
    Pins,
    blob_id,
    check_corpus,
    docs_digest,
    fetch_corpus,
    fetch_dump,
    load_pins,
)

from corpus import ROOT, need

WRONG = "0123456789abcdef0123456789abcdef01234567"
AUTHOR = ["-c", "user.name=Dump", "-c", "user.email=dump@example.invalid"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *AUTHOR, *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def commit(work: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text, encoding="utf-8")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    return git(work, "rev-parse", "HEAD")


@pytest.fixture
def upstream(tmp_path):
    """A dump with page commits, a README-only commit and a later commit past the pin."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    first = commit(work, {"docs/a.md": "# A\n", "README.md": "dump\n", "docs/img.png": "png"}, "import")
    second = commit(work, {"docs/a.md": "# A, changed\n", "docs/b.md": "# B\n"}, "change")
    pinned = commit(work, {"README.md": "dump, v2\n"}, "readme only")
    later = commit(work, {"docs/c.md": "# C\n"}, "after the pin")
    bare = tmp_path / "veeam-docs-demo-dump"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    lines = sorted(f"{blob_id(text.encode())} {path}\n" for path, text in
                   (("docs/a.md", "# A, changed\n"), ("docs/b.md", "# B\n")))
    digest = hashlib.sha256("".join(sorted(lines, key=lambda r: r.split(" ", 1)[1])).encode()).hexdigest()
    return {"url": f"file://{bare}", "base": f"file://{tmp_path}", "commits": (first, second, pinned, later),
            "pin": DumpPin("demo", pinned, 2, digest, "")}


def test_fetch_keeps_the_pinned_commit_and_only_its_pages(upstream, tmp_path):
    bundle = tmp_path / "out" / "corpus" / "veeam-docs-demo.bundle"
    fetch_dump(upstream["url"], upstream["pin"], bundle, tmp_path)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(bundle), str(clone)], check=True)
    assert sorted(str(p.relative_to(clone)) for p in clone.rglob("*") if ".git" not in p.parts) == [
        "docs", "docs/a.md", "docs/b.md"]
    assert (clone / "docs" / "a.md").read_text() == "# A, changed\n"
    assert git(clone, "log", "--format=%s").splitlines() == ["change", "import"]
    assert docs_digest(clone) == (2, upstream["pin"].digest)


def test_fetch_refuses_a_commit_the_dump_does_not_have(upstream, tmp_path):
    pin = DumpPin("demo", WRONG, 2, upstream["pin"].digest, "")
    with pytest.raises(CorpusError) as error:
        fetch_dump(upstream["url"], pin, tmp_path / "x.bundle", tmp_path)
    assert str(error.value) == (
        f"{upstream['url']}: expected commit {WRONG} is not in the fetched history (its HEAD is "
        f"{upstream['commits'][3]}); the dump was rewritten: update the pins in corpus.toml")
    assert not (tmp_path / "x.bundle").exists()


def test_fetch_refuses_pages_that_differ_from_the_pins(upstream, tmp_path):
    first = upstream["commits"][0]
    pin = DumpPin("demo", first, 2, upstream["pin"].digest, "")
    with pytest.raises(CorpusError) as error:
        fetch_dump(upstream["url"], pin, tmp_path / "x.bundle", tmp_path)
    assert str(error.value) == (
        f"{upstream['url']}: docs/*.md at {first} differ from the pins (found 1 files, digest "
        f"{docs_digest(tmp_path / 'demo.git')[1][:12]}; pinned 2 files, digest {pin.digest[:12]})")


def test_fetch_corpus_writes_the_shared_layout_and_check_accepts_it(upstream, tmp_path):
    second = upstream["commits"][1]
    seed = FilePin("seeds/seed.txt", "demo", "", blob_id(b"# B\n"))
    page = FilePin("docs/a.md", "docs/a.md", second, blob_id(b"# A, changed\n"))
    old = FilePin("versions/a@first.md", "docs/a.md", upstream["commits"][0], blob_id(b"# A\n"))
    pins = Pins([upstream["pin"]], seed, "demo", [page, old])
    target = tmp_path / "corpus-root"
    fetch_corpus(target, upstream["base"], pins, log=lambda line: None)
    assert (target / "seeds" / "seed.txt").read_text() == "# B\n"
    assert (target / "corpus" / "vbgcp" / "versions" / "a@first.md").read_text() == "# A\n"
    findings = check_corpus(target, pins)
    assert all(f.ok for f in findings), findings
    (target / "corpus" / "vbgcp" / "docs" / "a.md").write_text("edited\n")
    assert [f.text for f in check_corpus(target, pins) if not f.ok] == [
        f"{target}/corpus/vbgcp/docs/a.md: differs from blob {page.blob}"]


def test_fetch_refuses_a_page_whose_blob_is_not_the_pinned_one(upstream, tmp_path):
    second = upstream["commits"][1]
    page = FilePin("docs/a.md", "docs/a.md", second, blob_id(b"# A\n"))
    pins = Pins([upstream["pin"]], FilePin("seeds/s.txt", "other", "", ""), "demo", [page])
    with pytest.raises(CorpusError) as error:
        fetch_corpus(tmp_path / "t", upstream["base"], pins, log=lambda line: None)
    assert not (tmp_path / "t").exists()  # no half corpus left behind
    found = blob_id(b"# A, changed\n")
    assert str(error.value) == (f"{upstream['base']}/veeam-docs-demo-dump: docs/a.md at {second} is "
                                f"{found}, expected blob {page.blob}")


def test_fetch_writes_only_into_an_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["corpus", "fetch", "--to", str(tmp_path), "--from", "file:///nowhere"])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path} is not empty; corpus fetch writes into an empty directory\n"
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_check_names_a_missing_corpus(tmp_path):
    result = CliRunner().invoke(cli, ["corpus", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (f"WRONG  {tmp_path}/corpus: no corpus here; build one with "
                             "`veeam-perms corpus fetch --to DIR`\n")


def test_the_pins_cover_the_four_dumps_the_seed_and_the_google_cloud_pages():
    pins = load_pins()
    assert [pin.name for pin in pins.dumps] == ["vbaws", "vbazure", "vbr", "vb365"]
    assert len(pins.gcp_files) == 60 and pins.seed.source == "vbaws"


def test_the_corpus_the_tests_read_is_the_pinned_one():
    findings = check_corpus(need(ROOT / "corpus").parent)
    assert [f.text for f in findings if not f.ok] == []


def test_a_test_that_needs_an_absent_corpus_fails_and_no_setting_makes_it_skip(tmp_path, monkeypatch):
    monkeypatch.setenv("VEEAM_PERMS_SKIP_CORPUS", "1")  # the switch an earlier round honoured
    with pytest.raises(pytest.fail.Exception) as failure:
        need(tmp_path / "corpus" / "veeam-docs-vbr.bundle")
    assert str(failure.value).startswith(f"{tmp_path}/corpus/veeam-docs-vbr.bundle is absent: the real helpcenter "
                                         "corpus is missing. Build it with `.venv/bin/veeam-perms corpus fetch")


def test_a_clone_that_outlasts_its_time_limit_is_stopped_with_one_line(upstream, tmp_path, monkeypatch):
    import pipeline.jobs.corpus as corpus_job

    monkeypatch.setattr(corpus_job, "GIT_TIMEOUT", 0.001)  # any real clone takes longer than 1 ms
    with pytest.raises(corpus_job.CorpusError) as error:
        corpus_job._clone(upstream["url"], tmp_path / "slow.git")
    assert str(error.value) == f"{upstream['url']}: `git clone -q …` took over 0.001 s; stopped"
