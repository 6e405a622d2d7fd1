"""GitHub plumbing for the workflows, through the `gh` and `git` command-line tools.

Kept here rather than in workflow YAML so that it is tested like the rest (the tests put a
fake `gh` on PATH and a local bare repository behind `git push`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path


class GitHubError(RuntimeError):
    pass


INSTALL_HINTS = {"gh": "the GitHub CLI: https://cli.github.com/", "git": "git: https://git-scm.com/"}


# A catalog download or a push that stalls on the network ends the job with a reason instead of
# holding the runner until the workflow's own timeout.
COMMAND_TIMEOUT = 900.0


def _run(args: list[str], cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise GitHubError(f"`{' '.join(args[:3])}` took over {COMMAND_TIMEOUT:g} s; stopped") from error
    except FileNotFoundError as error:
        if cwd is not None and not Path(cwd).is_dir():
            raise GitHubError(f"{cwd}: no such folder to run `{args[0]}` in") from error
        raise GitHubError(f"`{args[0]}` is not installed or not on PATH; this command needs "
                          f"{INSTALL_HINTS.get(args[0], args[0])}") from error
    except OSError as error:
        raise GitHubError(f"cannot run `{args[0]}`: {error.strerror}") from error
    if check and result.returncode != 0:
        raise GitHubError(f"{' '.join(args[:3])} failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return result


def restore(releases: list[str], target: Path) -> str:
    """Download catalog.db from the first release that has it; start empty when none does."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for release in releases:
        result = _run(["gh", "release", "download", release, "--pattern", "catalog.db", "--dir",
                       str(target.parent), "--clobber"], check=False)
        if result.returncode == 0 and (target.parent / "catalog.db").exists():
            if (target.parent / "catalog.db") != target:
                shutil.move(target.parent / "catalog.db", target)
            return f"restored {target} from release {release}"
    return f"no release among {', '.join(releases)} has catalog.db: starting with an empty catalog"


HEAD_RECORD = "catalog-head.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(release: str, name: str, folder: Path) -> Path | None:
    result = _run(["gh", "release", "download", release, "--pattern", name, "--dir", str(folder),
                   "--clobber"], check=False)
    return folder / name if result.returncode == 0 and (folder / name).exists() else None


def restore_reviewed(release: str, head_sha: str, target: Path) -> str:
    """Restore the catalog only when it was produced for `head_sha`, the merged pull request's head.

    `propose` records the commit it pushed and the catalog's SHA-256 beside the catalog; anything
    else (no record, another commit, a catalog replaced since) is refused, so a merge never
    publishes a catalog nobody reviewed.
    """
    with tempfile.TemporaryDirectory(prefix="veeam-perms-restore-") as folder:
        record_path = _download(release, HEAD_RECORD, Path(folder))
        if record_path is None:
            raise GitHubError(f"release {release} has no {HEAD_RECORD}: nothing ties its catalog to a "
                              "reviewed commit; nothing restored")
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            recorded_head, recorded_digest = str(record["head"]), str(record["sha256"])
        except (ValueError, KeyError, TypeError) as error:
            raise GitHubError(f"release {release}: {HEAD_RECORD} is not a head record") from error
        if recorded_head != head_sha:
            raise GitHubError(f"the catalog in release {release} was produced for commit {recorded_head[:12]}, "
                              f"not the merged pull request's head {head_sha[:12]}; nothing restored")
        catalog = _download(release, "catalog.db", Path(folder))
        if catalog is None or _sha256(catalog) != recorded_digest:
            raise GitHubError(f"catalog.db in release {release} is not the catalog recorded for commit "
                              f"{head_sha[:12]}; nothing restored")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(catalog, target)
    return f"restored {target} from release {release} (produced for commit {head_sha[:12]})"


def _ensure_release(release: str, title: str, prerelease: bool) -> None:
    if _run(["gh", "release", "view", release], check=False).returncode != 0:
        args = ["gh", "release", "create", release, "--title", title, "--notes",
                "The veeam-perms catalog (SQLite). Download catalog.db and open it with sqlite3 or Datasette."]
        _run(args + (["--prerelease"] if prerelease else []))


def upload(release: str, files: list[Path], title: str, prerelease: bool = False) -> None:
    _ensure_release(release, title, prerelease)
    _run(["gh", "release", "upload", release, *map(str, files), "--clobber"])


def propose(result_dir: Path, repo_dir: Path, branch: str, pending_release: str) -> str:
    """Commit the export on a branch, push it, open or update the pull request, stash the catalog."""
    body = result_dir / "CHANGES.md"
    if not body.exists():
        raise GitHubError(f"{body} is missing: propose needs the changelog of a changed run")
    target = repo_dir / "export"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(result_dir / "export", target)
    _run(["gh", "auth", "setup-git"])
    _run(["git", "checkout", "-B", branch], cwd=repo_dir)
    _run(["git", "add", "export"], cwd=repo_dir)
    if not _run(["git", "status", "--porcelain", "export"], cwd=repo_dir).stdout.strip():
        return "the export did not change: nothing to propose"
    _run(["git", "-c", "user.name=veeam-perms", "-c", "user.email=veeam-perms@users.noreply.github.com",
          "commit", "-m", "Permission changes from the scheduled scrape", "-m", body.read_text()[:60000]],
         cwd=repo_dir)
    head = _run(["git", "rev-parse", "HEAD"], cwd=repo_dir).stdout.strip()
    record = result_dir / HEAD_RECORD
    record.write_text(json.dumps({"head": head, "sha256": _sha256(result_dir / "catalog.db")}) + "\n",
                      encoding="utf-8")
    # The record first: until the catalog and its record match, publishing refuses.
    upload(pending_release, [record, result_dir / "catalog.db"], "Catalog awaiting review", prerelease=True)
    _run(["git", "push", "--force", "origin", f"HEAD:refs/heads/{branch}"], cwd=repo_dir)
    existing = _run(["gh", "pr", "list", "--head", branch, "--state", "open", "--json", "number", "--jq",
                     ".[0].number"], cwd=repo_dir).stdout.strip()
    if existing:
        _run(["gh", "pr", "edit", existing, "--body-file", str(body)], cwd=repo_dir)
        return f"updated pull request #{existing}"
    _run(["gh", "pr", "create", "--head", branch, "--title", "Permission changes from the scheduled scrape",
          "--body-file", str(body)], cwd=repo_dir)
    return "opened a pull request"


def release_catalog(db_path: Path, site_dir: Path | None, release: str, clear_pending: bool = True) -> str:
    """Attach the catalog (and the site bundle) to the public release; drop the pending copy."""
    files = [db_path]
    if site_dir and site_dir.exists():
        bundle = site_dir.parent / "site.tar.gz"
        with tarfile.open(bundle, "w:gz") as archive:
            archive.add(site_dir, arcname="site")
        files.append(bundle)
    upload(release, files, "veeam-perms catalog")
    for asset in ("catalog.db", HEAD_RECORD) if clear_pending else ():
        _run(["gh", "release", "delete-asset", "catalog-pending", asset, "--yes"], check=False)
    return f"attached {', '.join(f.name for f in files)} to release {release}"


def open_or_update_issue(title: str, body_file: Path, label: str) -> str:
    """One open issue per label: comment on it when it exists, else open it (the canary's alert)."""
    existing = _run(["gh", "issue", "list", "--label", label, "--state", "open", "--json", "number",
                     "--jq", ".[0].number // empty"]).stdout.strip()
    if existing:
        _run(["gh", "issue", "comment", existing, "--body-file", str(body_file)])
        return f"commented on issue #{existing}"
    _run(["gh", "issue", "create", "--title", title, "--body-file", str(body_file), "--label", label])
    return "opened an issue"
