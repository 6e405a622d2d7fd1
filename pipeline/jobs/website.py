"""How the catalog is served: one place for the Datasette options, used by serve, publish and tests."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from catalog.paths import require_product_code, write_inside
from catalog.storage.database import snapshot_catalog
from pipeline.jobs.tempdirs import SITE_PREFIX, folder_for_process, temporary_folder

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "datasette"
SETTINGS = {"sql_time_limit_ms": 1000, "default_page_size": 50, "max_returned_rows": 1000,
            "allow_facet": True, "suggest_facets": False}


@contextmanager
def served_catalog(db_path: Path):
    """The catalog under the name the site's links expect (`catalog`), for as long as the block runs;
    the link's folder is removed after it (and swept at a later start if the process was killed)."""
    db_path = Path(db_path).resolve()
    if db_path.stem == "catalog":
        yield db_path
        return
    with temporary_folder(SITE_PREFIX) as folder:
        link = folder / "catalog.db"
        os.symlink(db_path, link)
        yield link


_process_links: dict[Path, Path] = {}


def served_name(db_path: Path) -> Path:
    """Like `served_catalog`, for the life of the process: one link folder per catalog, removed at exit."""
    db_path = Path(db_path).resolve()
    if db_path.stem == "catalog":
        return db_path
    if db_path not in _process_links or not _process_links[db_path].parent.exists():
        link = folder_for_process(SITE_PREFIX) / "catalog.db"
        os.symlink(db_path, link)
        _process_links[db_path] = link
    return _process_links[db_path]


FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
STOP_GRACE_SECONDS = 15.0  # after a forwarded signal, the server gets this long before SIGKILL


def bind_problem(host: str, port: int) -> str | None:
    """Why the server could not bind (host, port), in one line; None when it can. Tried with the
    options uvicorn uses."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError) as error:
        return f"--host {host}: no such host or address ({getattr(error, 'strerror', None) or error})"
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} is in use; pick another with --port"
            if error.errno == errno.EADDRNOTAVAIL:
                return f"--host {host}: not an address of this machine"
            if error.errno == errno.EACCES:
                return f"port {port}: permission denied (ports below 1024 need privileges); pick another with --port"
            return f"--host {host} --port {port}: cannot listen there ({error.strerror})"
    return None


def run_forwarding_signals(command: list[str]) -> int:
    """Run the server as a child; SIGTERM/SIGINT sent to us reach it, and we return once it has ended.

    Returns its exit status (128 + N when signal N ended it), as a shell reports it.
    """
    child = subprocess.Popen(command)
    stopping_since: list[float] = []

    def forward(signum, _frame):
        stopping_since.append(time.monotonic())
        if child.poll() is None:
            child.send_signal(signum)

    previous = {number: signal.signal(number, forward) for number in FORWARDED_SIGNALS}
    try:
        while child.poll() is None:
            try:
                child.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                if stopping_since and time.monotonic() - stopping_since[0] > STOP_GRACE_SECONDS:
                    child.kill()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if child.poll() is None:  # we are unwinding on an error: the server must not outlive us
            child.kill()
            child.wait()
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


def datasette_args(db_path: Path, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    """`datasette serve` arguments: immutable (read-only) database, our metadata, templates, plugins."""
    args = ["serve", "-i", str(db_path), "--metadata", str(SITE / "metadata.yml"),
            "--template-dir", str(SITE / "templates"), "--plugins-dir", str(SITE / "plugins"),
            "--static", f"static:{SITE / 'static'}", "--host", host, "--port", str(port)]
    for name, value in SETTINGS.items():
        args += ["--setting", name, str(value).lower() if isinstance(value, bool) else str(value)]
    return args


def make_datasette(db_path: Path):
    """An in-process Datasette with the same configuration (for tests and benchmarks)."""
    import yaml
    from datasette.app import Datasette

    metadata = yaml.safe_load((SITE / "metadata.yml").read_text(encoding="utf-8"))
    return Datasette(immutables=[str(served_name(db_path))], metadata=metadata,
                     template_dir=str(SITE / "templates"), plugins_dir=str(SITE / "plugins"),
                     static_mounts=[("static", str(SITE / "static"))], settings=dict(SETTINGS))


PROJECT_FILES = ("pyproject.toml", "README.md")
PROJECT_PACKAGES = ("pipeline", "catalog")
# Every package the site runs with, transitive ones included, at the versions the tests ran with.
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"


def copy_project(target: Path) -> None:
    """The project's source tree as `pip install` needs it: pyproject.toml, README, the packages,
    and the constraints that pin what they pull in."""
    target.mkdir(parents=True)
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, target / name)
    shutil.copy2(CONSTRAINTS, target / "constraints.txt")
    for package in PROJECT_PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def build_publish_dir(db_path: Path, target: Path, feeds: dict[str, str], changelog: str) -> list[str]:
    """Everything a host needs: the database, the site configuration, a Dockerfile, feeds.

    Files named after catalog data (a feed per product) are written only inside `target`:
    a product code that is no code (`../../x`) is refused before anything is written.
    """
    for code in feeds:
        require_product_code(code)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty; publish writes into an empty directory")
    target.mkdir(parents=True, exist_ok=True)
    snapshot_catalog(db_path, target / "catalog.db")  # never a plain copy: a run may be committing
    for part in ("metadata.yml", "templates", "plugins", "static"):
        source = SITE / part
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target / part)
    for code, xml in feeds.items():
        write_inside(target, f"static/feeds/{code}.atom", xml)
    write_inside(target, "CHANGELOG.md", changelog)
    copy_project(target / "project")
    serve = datasette_args(Path("catalog.db"), host="0.0.0.0", port=8001)
    serve = [arg.replace(str(SITE) + "/", "").replace(str(SITE), ".") for arg in serve]
    # The project installs itself under the constraints file: the versions it runs with, transitive
    # ones included, are the ones the tests ran with.
    write_inside(target, "Dockerfile",
                 "FROM python:3.11-slim\nWORKDIR /app\nCOPY . /app\n"
                 "RUN pip install --no-cache-dir -c ./project/constraints.txt ./project && rm -rf ./project\n"
                 "EXPOSE 8001\n"
                 f"CMD [\"datasette\", {', '.join(repr(a).replace(chr(39), chr(34)) for a in serve)}]\n")
    return sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
