"""GitHub plumbing for the workflows, through the `gh` and `git` command-line tools.

Kept here rather than in workflow YAML so that it is tested like the rest (the tests put a
fake `gh` on PATH and a local bare repository behind `git push`).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path


class GitHubError(RuntimeError):
    pass


def _run(args: list[str], cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
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
    _run(["git", "push", "--force", "origin", f"HEAD:refs/heads/{branch}"], cwd=repo_dir)
    upload(pending_release, [result_dir / "catalog.db"], "Catalog awaiting review", prerelease=True)
    existing = _run(["gh", "pr", "list", "--head", branch, "--state", "open", "--json", "number", "--jq",
                     ".[0].number"], cwd=repo_dir).stdout.strip()
    if existing:
        _run(["gh", "pr", "edit", existing, "--body-file", str(body)], cwd=repo_dir)
        return f"updated pull request #{existing}"
    _run(["gh", "pr", "create", "--head", branch, "--title", "Permission changes from the scheduled scrape",
          "--body-file", str(body)], cwd=repo_dir)
    return "opened a pull request"


def release_catalog(db_path: Path, site_dir: Path | None, release: str) -> str:
    """Attach the catalog (and the site bundle) to the public release; drop the pending copy."""
    files = [db_path]
    if site_dir and site_dir.exists():
        bundle = site_dir.parent / "site.tar.gz"
        with tarfile.open(bundle, "w:gz") as archive:
            archive.add(site_dir, arcname="site")
        files.append(bundle)
    upload(release, files, "veeam-perms catalog")
    _run(["gh", "release", "delete-asset", "catalog-pending", "catalog.db", "--yes"], check=False)
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
