"""Helpers shared by the benchmarks: where the real corpus is, and a result record."""

from __future__ import annotations

import json
import platform
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from pipeline.jobs.corpus import bundle_path, default_root

ROOT = Path(__file__).resolve().parents[1]
BUNDLES = {name: bundle_path(default_root(), name) for name in ("vbaws", "vbazure", "vbr", "vb365")}


def clone_bundle(name: str, into: Path | None = None) -> Path:
    bundle = BUNDLES[name]
    if not bundle.exists():
        sys.exit(f"{bundle} is absent: the benchmarks need the test corpus (../shared or "
                 "VEEAM_PERMS_CORPUS; see the README)")
    target = (into or Path(tempfile.mkdtemp(prefix="veeam-bench-"))) / name
    if not target.exists():
        subprocess.run(["git", "clone", "-q", str(bundle), str(target)], check=True)
    return target


def machine() -> str:
    import os

    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"


def emit(figures: list[dict]) -> None:
    """Print figures as JSON lines: {"figure", "value", "unit", "target"}."""
    for figure in figures:
        print(json.dumps({**figure, "machine": machine()}))


@contextmanager
def running_site(db_path: Path):
    """The catalog served as `veeam-perms serve` serves it, on a free port: yields (base URL, server process)."""
    import httpx

    from pipeline.jobs.website import datasette_args, served_catalog

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with served_catalog(db_path) as served:  # the link folder is removed afterwards
        server = subprocess.Popen([sys.executable, "-m", "datasette", *datasette_args(served, "127.0.0.1", port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)  # the server is starting: nothing to wait on but its port
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=10)
