"""Read dump pages from a git repository's history (or a bundle of one), commit by commit.

Only files a commit changed are read, through one long-lived `git cat-file --batch`
process, so a 3,200-commit history costs one `git log` and one blob read per change.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.jobs.tempdirs import BUNDLE_PREFIX, temporary_folder
from pipeline.parse.limits import MAX_PAGE_BYTES
from pipeline.parse.sources import PAGE_SUFFIXES, PageError

GIT_TIMEOUT = 900  # seconds for one git command on a dump (a clone of the largest takes ~10)

_MARK = "\x1e"


class DumpError(Exception):
    """A dump repository that cannot be read; the message names it and says why."""


@dataclass(frozen=True)
class FileChange:
    status: str  # A, M, D (renames arrive as D + A)
    path: str
    blob: str


@dataclass
class Commit:
    sha: str
    committed_at: str  # ISO 8601, UTC
    changes: list[FileChange] = field(default_factory=list)


def _bounded(command: list[str], where: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=GIT_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise DumpError(f"{where}: git {command[3] if command[1] == '-C' else command[1]} took over "
                        f"{GIT_TIMEOUT} s; stopped") from error


def _git(repo: Path, *args: str) -> str:
    result = _bounded(["git", "-C", str(repo), *args], repo)
    if result.returncode != 0:
        raise DumpError(f"{repo}: git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def is_git_source(path: Path) -> bool:
    return path.is_file() and path.suffix == ".bundle" or (path / ".git").exists() or (
        path / "HEAD").is_file() and (path / "objects").is_dir()


@contextmanager
def open_repository(path: Path):
    """Yield a readable repository path; a bundle is unbundled into a bare temporary repository.

    `git bundle unbundle` indexes the pack as a clone does but skips the clone's walk over every
    object to check connectivity (a fifth of the clone's time on the vbr bundle); HEAD is set to
    the bundle's own.
    """
    if path.is_file():
        # Owned and swept: a repository left by a killed run is removed at the next start.
        with temporary_folder(BUNDLE_PREFIX) as workdir:
            repo = workdir / "r"
            _bounded(["git", "init", "-q", "--bare", str(repo)], path)
            result = _bounded(["git", "-C", str(repo), "bundle", "unbundle", str(path.resolve())], path)
            head = _bundle_head(result.stdout)
            if result.returncode != 0 or head is None:
                reason = result.stderr.strip() or "it names no HEAD"
                raise DumpError(f"{path}: not a readable git bundle: {reason}")
            _git(repo, "update-ref", "--no-deref", "HEAD", head)
            yield repo
    else:
        yield path


def repository_id(repo: Path) -> str:
    """The root commit names a dump's history on every machine, whatever folder it is in."""
    roots = _git(repo, "rev-list", "--max-parents=0", "HEAD").split()
    if not roots:
        raise DumpError(f"{repo}: the repository has no commits")
    return f"git:{roots[-1]}"


def _utc(stamp: str) -> str:
    return dt.datetime.fromisoformat(stamp).astimezone(dt.UTC).isoformat(timespec="seconds")


def _bundle_head(listing: str) -> str | None:
    """The commit a bundle's ref listing (`<sha> <ref>` lines) names HEAD, else its only ref."""
    refs = dict(reversed(line.split(" ", 1)) for line in listing.splitlines() if " " in line)
    return refs.get("HEAD") or (next(iter(refs.values())) if len(refs) == 1 else None)


def head_of(path: Path) -> str | None:
    """The commit HEAD names, read without cloning a bundle (`git bundle list-heads`); None when
    the source does not say (then only a clone tells)."""
    if path.is_file():
        result = _bounded(["git", "bundle", "list-heads", str(path)], path)
        if result.returncode != 0:
            return None
        return _bundle_head(result.stdout)
    result = _bounded(["git", "-C", str(path), "rev-parse", "--verify", "-q", "HEAD"], path)
    return result.stdout.strip() or None if result.returncode == 0 else None


def list_shas(repo: Path) -> list[str]:
    """The non-merge commits reachable from HEAD (the ones `iter_commits` reads)."""
    return _git(repo, "rev-list", "--no-merges", "HEAD").split()


def iter_commits(repo: Path) -> Iterator[Commit]:
    """Every non-merge commit reachable from HEAD, oldest first, with the page files it changed,
    each as soon as `git log` has written it: the reading and parsing of the first commits' pages
    goes on while git computes the later diffs.

    Merge commits are skipped: the dump's pull requests merge commits that each record one
    detected upstream change, dated when it was detected, and the merge only repeats them.
    """
    process = subprocess.Popen(
        # A 16 MB delta-base cache (96 MB by default): the log now runs beside the parse workers, and
        # on the vbr history it holds 35 MB instead of 125 MB, as fast.
        ["git", "-C", str(repo), "-c", "core.deltaBaseCacheLimit=16m", "log", "--reverse", "--topo-order",
         "--no-merges", "--root", "--raw",
         "--no-abbrev", "--no-renames", f"--format={_MARK}%H %cI", "HEAD"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(GIT_TIMEOUT, process.kill)
    watchdog.start()
    try:
        commit: Commit | None = None
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            if line.startswith(_MARK):
                if commit is not None:
                    yield commit
                sha, stamp = line[1:].split(" ", 1)
                commit = Commit(sha, _utc(stamp))
            elif line.startswith(":") and commit is not None:
                meta, _, path = line.partition("\t")
                fields = meta.split()
                if os.path.splitext(path)[1].lower() in PAGE_SUFFIXES:
                    commit.changes.append(FileChange(fields[4][0], path, fields[3]))
        if process.wait() != 0:
            reason = f"took over {GIT_TIMEOUT} s; stopped" \
                if not watchdog.is_alive() else f"failed: {process.stderr.read().strip()[-500:]}"
            raise DumpError(f"{repo}: git log {reason}")
        if commit is not None:
            yield commit
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()


CHUNK = 1024 * 1024
MAX_REQUESTS = 1024  # x 41 bytes: within a pipe's 64 KB


class BlobReader:
    """Reads blobs by id through one `git cat-file --batch` process."""

    def __init__(self, repo: Path) -> None:
        self._process = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read_many(self, wanted: list[tuple[str, str]]) -> list[bytes | PageError]:
        """Each (blob, where)'s bytes, or the PageError of a blob over the page limit (skipped
        unread). The requests go out together and the answers are read in turn: a round trip
        per blob cost ~0.2 ms of waiting on git. The requests (41 bytes each) must fit the pipe
        so that git's answers never wait on a writer that waits on them."""
        assert self._process.stdin and self._process.stdout
        assert len(wanted) <= MAX_REQUESTS
        self._process.stdin.write(b"".join(blob.encode() + b"\n" for blob, _ in wanted))
        self._process.stdin.flush()
        return [self._answer(blob, where) for blob, where in wanted]

    def _answer(self, blob: str, where: str) -> bytes | PageError:
        assert self._process.stdout
        header = self._process.stdout.readline().split()
        if len(header) < 3 or header[1] != b"blob":
            raise DumpError(f"blob {blob} is missing from the repository")
        size = int(header[2])
        if size > MAX_PAGE_BYTES:
            for left in range(size + 1, 0, -CHUNK):  # the body and its newline, a chunk at a time
                self._process.stdout.read(min(CHUNK, left))
            return PageError(f"{where}: {size:,} bytes is over the {MAX_PAGE_BYTES:,}-byte page limit")
        data = self._process.stdout.read(size)
        self._process.stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait()
