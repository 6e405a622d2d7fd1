"""The real test corpus: rebuilt from the public dumps at pinned commits, and checked against the pins.

A corpus directory has the layout of ../shared: `corpus/veeam-docs-<dump>.bundle` (git bundles of
the dumps' `docs/*.md` history), `corpus/vbgcp/{docs,versions}/*.md` (Google Cloud pages) and
`seeds/` (the seed page). The pins (commit ids, blob ids, digests; never page text) are in corpus.toml.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PINS_FILE = Path(__file__).with_name("corpus.toml")
SHARED = Path(__file__).resolve().parents[3] / "shared"  # beside the project folder
CORPUS_VARIABLE = "VEEAM_PERMS_CORPUS"
UPSTREAM = "https://github.com/comnam90"
DUMP_PAGES = "docs/*.md"  # all a bundle keeps of its dump (the glob also matches docs/<dir>/x.md)


class CorpusError(Exception):
    """The corpus cannot be built or does not match the pins; the message names the repository."""


@dataclass(frozen=True)
class DumpPin:
    name: str
    commit: str
    pages: int
    digest: str
    bundle_head: str


@dataclass(frozen=True)
class FilePin:
    path: str  # where it goes, relative to the corpus folder of its dump
    source: str  # its path in the dump
    commit: str
    blob: str


@dataclass(frozen=True)
class Pins:
    dumps: list[DumpPin]
    seed: FilePin  # path relative to the corpus root; source is the dump name
    gcp_dump: str
    gcp_files: list[FilePin]


def load_pins(text: str | None = None) -> Pins:
    data = tomllib.loads(text if text is not None else PINS_FILE.read_text(encoding="utf-8"))
    seed = data["seed"]
    return Pins(dumps=[DumpPin(name, **pin) for name, pin in data["dumps"].items()],
                seed=FilePin(seed["path"], seed["dump"], "", seed["blob"]),
                gcp_dump=data["gcp"]["dump"], gcp_files=[FilePin(**row) for row in data["gcp"]["files"]])


def default_root() -> Path:
    """Where the corpus is: ../shared when it holds one, else $VEEAM_PERMS_CORPUS, else ../shared (missing)."""
    if (SHARED / "corpus").is_dir() or not os.environ.get(CORPUS_VARIABLE):
        return SHARED
    return Path(os.environ[CORPUS_VARIABLE]).resolve()


def dump_url(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/veeam-docs-{name}-dump"


def bundle_path(root: Path, name: str) -> Path:
    return Path(root) / "corpus" / f"veeam-docs-{name}.bundle"


def gcp_dir(root: Path) -> Path:
    return Path(root) / "corpus" / "vbgcp"


def blob_id(data: bytes) -> str:
    """The id git gives these bytes as a blob (so files compare with a dump without git)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def file_blob_id(path: Path, chunk: int = 1 << 20) -> str:
    """`blob_id` of a file, read a megabyte at a time: any size costs the same memory."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        digest = hashlib.sha1(b"blob %d\0" % size)
        read = 0
        while block := handle.read(chunk):
            digest.update(block)
            read += len(block)
    if read != size:  # it changed while read: whatever it is now, it is not the pinned blob
        return ""
    return digest.hexdigest()


# A dump's clone or rewrite that takes longer than this has hung (vbr, the largest, takes ~20 s).
GIT_TIMEOUT = 900


def _run(command: list[str], where: str, **options) -> subprocess.CompletedProcess:
    """A git command bounded in time: a stalled network or a hung rewrite becomes a CorpusError."""
    try:
        return subprocess.run(command, capture_output=True, timeout=GIT_TIMEOUT, **options)
    except subprocess.TimeoutExpired as error:
        raise CorpusError(f"{where}: `{' '.join(command[:3])} …` took over {GIT_TIMEOUT} s; stopped") from error


def _git(repo: Path | None, *args: str, check: bool = True) -> str:
    command = ["git", *(["-C", str(repo)] if repo else []), *args]
    result = _run(command, str(repo or "."), text=True)
    if check and result.returncode != 0:
        raise CorpusError(f"git {args[0]} failed in {repo or '.'}: {result.stderr.strip()}")
    return result.stdout.strip() if result.returncode == 0 else ""


def docs_digest(repo: Path, rev: str = "HEAD") -> tuple[int, str]:
    """How many `docs/*.md` files `rev` holds, and the digest of their blob ids and paths."""
    rows = []
    for line in _git(repo, "ls-tree", "-r", rev).splitlines():
        meta, path = line.split("\t", 1)
        if path.startswith("docs/") and path.endswith(".md"):
            rows.append(f"{meta.split()[2]} {path}\n")
    return len(rows), hashlib.sha256("".join(sorted(rows, key=lambda r: r.split(" ", 1)[1])).encode()).hexdigest()


def _clone(url: str, repo: Path) -> str:
    """A bare clone of `url`; returns its HEAD commit."""
    result = _run(["git", "clone", "-q", "--bare", url, str(repo)], url, text=True)
    if result.returncode != 0:
        raise CorpusError(f"{url}: cannot clone: {result.stderr.strip()}")
    return _git(repo, "rev-parse", "HEAD")


def _require_commit(url: str, repo: Path, commit: str, head: str) -> None:
    if not _git(repo, "rev-parse", "--verify", "-q", f"{commit}^{{commit}}", check=False):
        raise CorpusError(f"{url}: expected commit {commit} is not in the fetched history (its HEAD is {head}); "
                          f"the dump was rewritten: update the pins in {PINS_FILE.name}")


def _keep_only(repo: Path, commit: str) -> None:
    """Point `main` (and HEAD) at `commit` and drop every other ref."""
    _git(repo, "update-ref", "refs/heads/main", commit)
    _git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    for ref in _git(repo, "for-each-ref", "--format=%(refname)").splitlines():
        if ref != "refs/heads/main":
            _git(repo, "update-ref", "-d", ref)


def _filter_to_pages(repo: Path) -> None:
    """Rewrite the history to `docs/*.md` only, as the bundles were made (empty commits drop out)."""
    result = _run([sys.executable, "-m", "git_filter_repo", "--quiet", "--force", "--path-glob", DUMP_PAGES],
                  str(repo), cwd=repo, text=True)
    if result.returncode != 0:
        raise CorpusError(f"{repo}: git filter-repo failed: {result.stderr.strip()}")


def fetch_dump(url: str, pin: DumpPin, bundle: Path, workdir: Path) -> Path:
    """Clone one dump, verify the pinned commit and its pages, write the filtered history as a bundle."""
    repo = workdir / f"{pin.name}.git"
    head = _clone(url, repo)
    _require_commit(url, repo, pin.commit, head)
    _keep_only(repo, pin.commit)
    actual = _git(repo, "rev-parse", "HEAD")
    if actual != pin.commit:
        raise CorpusError(f"{url}: expected commit {pin.commit}, got {actual}")
    _filter_to_pages(repo)
    pages, digest = docs_digest(repo)
    if digest != pin.digest:
        raise CorpusError(f"{url}: docs/*.md at {pin.commit} differ from the pins (found {pages} files, "
                          f"digest {digest[:12]}; pinned {pin.pages} files, digest {pin.digest[:12]})")
    bundle.parent.mkdir(parents=True, exist_ok=True)
    _git(repo, "bundle", "create", str(bundle.resolve()), "HEAD", "main")
    return repo


def _read_blob(url: str, repo: Path, pin: FilePin) -> bytes:
    _require_commit(url, repo, pin.commit, _git(repo, "rev-parse", "HEAD"))
    found = _git(repo, "rev-parse", "--verify", "-q", f"{pin.commit}:{pin.source}", check=False)
    if found != pin.blob:
        raise CorpusError(f"{url}: {pin.source} at {pin.commit} is {found or 'absent'}, expected blob {pin.blob}")
    return _run(["git", "-C", str(repo), "cat-file", "blob", pin.blob], url, check=True).stdout


def fetch_files(url: str, files: list[FilePin], target: Path, workdir: Path) -> None:
    """Plain files taken from one dump, each at its own commit and verified by blob id."""
    repo = workdir / "files.git"
    _clone(url, repo)
    for pin in files:
        (target / pin.path).parent.mkdir(parents=True, exist_ok=True)
        (target / pin.path).write_bytes(_read_blob(url, repo, pin))


def write_seed(repo: Path, seed: FilePin, root: Path) -> None:
    data = _run(["git", "-C", str(repo), "cat-file", "blob", seed.blob], str(repo)).stdout
    if blob_id(data) != seed.blob:
        raise CorpusError(f"{repo}: the seed page (blob {seed.blob}) is not in the {seed.source} history")
    (root / seed.path).parent.mkdir(parents=True, exist_ok=True)
    (root / seed.path).write_bytes(data)


def fetch_corpus(target: Path, base: str = UPSTREAM, pins: Pins | None = None,
                 log: Callable[[str], None] = print) -> None:
    """Build the whole test corpus under `target` (absent or empty) from the dumps under `base`.

    It is built in a temporary folder and moved into place at the end: a failure leaves no half corpus.
    """
    pins = pins or load_pins()
    if target.exists() and any(target.iterdir()):
        raise CorpusError(f"{target} is not empty; corpus fetch writes into an empty directory")
    with tempfile.TemporaryDirectory(prefix="veeam-perms-corpus-") as work:
        built = Path(work) / "corpus-root"
        for pin in pins.dumps:
            url = dump_url(base, pin.name)
            repo = fetch_dump(url, pin, bundle_path(built, pin.name), Path(work))
            if pin.name == pins.seed.source:
                write_seed(repo, pins.seed, built)
            log(f"{pin.name}: {pin.pages} pages at {url}@{pin.commit[:12]}")
        if pins.gcp_files:
            fetch_files(dump_url(base, pins.gcp_dump), pins.gcp_files, gcp_dir(built), Path(work))
            log(f"{pins.gcp_dump}: {len(pins.gcp_files)} Google Cloud pages")
        target.mkdir(parents=True, exist_ok=True)
        for part in built.iterdir():
            shutil.move(str(part), str(target / part.name))
    log(f"wrote the test corpus under {target}")


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str


def _check_bundle(bundle: Path, pin: DumpPin) -> Finding:
    if not bundle.is_file():
        return Finding(False, f"{bundle}: missing")
    heads = dict(reversed(line.split(" ", 1)) for line in _git(None, "bundle", "list-heads", str(bundle))
                 .splitlines())
    head = heads.get("HEAD", "")
    if head == pin.bundle_head:  # the same commit is the same tree: no need to read it
        return Finding(True, f"{bundle.name}: HEAD {head[:12]} as pinned")
    with tempfile.TemporaryDirectory(prefix="veeam-perms-check-") as work:
        repo = Path(work) / "r.git"
        _git(None, "clone", "-q", "--bare", str(bundle), str(repo))
        pages, digest = docs_digest(repo)
    if digest == pin.digest:
        return Finding(True, f"{bundle.name}: HEAD {head[:12]}, its {pages} pages match the pinned blobs")
    return Finding(False, f"{bundle.name}: HEAD {head[:12]} holds {pages} pages that differ from the pinned "
                          f"{pin.pages} (upstream {pin.commit[:12]})")


def _check_file(path: Path, pin: FilePin) -> Finding | None:
    """A finding for a missing or changed file, None when it matches."""
    if not path.is_file():
        return Finding(False, f"{path}: missing")
    if file_blob_id(path) != pin.blob:
        return Finding(False, f"{path}: differs from blob {pin.blob}")
    return None


def check_corpus(root: Path, pins: Pins | None = None) -> list[Finding]:
    """Whether the corpus under `root` is the pinned one, bundle by bundle and file by file."""
    pins = pins or load_pins()
    root = Path(root)
    if not (root / "corpus").is_dir():
        return [Finding(False, f"{root / 'corpus'}: no corpus here; build one with "
                               "`veeam-perms corpus fetch --to DIR`")]
    findings = [_check_bundle(bundle_path(root, pin.name), pin) for pin in pins.dumps]
    findings.append(_check_file(root / pins.seed.path, pins.seed) or Finding(True, f"{pins.seed.path}: as pinned"))
    wrong = [found for pin in pins.gcp_files if (found := _check_file(gcp_dir(root) / pin.path, pin))]
    findings += wrong or [Finding(True, f"{gcp_dir(root).name}: {len(pins.gcp_files)} pages as pinned")]
    return findings
