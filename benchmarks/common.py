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
    """Print figures as JSON lines: {"figure", "value", "unit", "target"} (and, for a figure that
    `run.py --check` checks, "ratio" and "bound": its cost over its floor, measured in the same run)."""
    for figure in figures:
        print(json.dumps({**figure, "machine": machine()}))


def against_floor(figure: str, seconds: float, floor: float, bound: float, unit: str = "s",
                  value: float | None = None, runs: list[float] | None = None) -> dict:
    """A figure checked as a ratio to its floor (timings on shared machines move together)."""
    ratio = seconds / floor
    spread = f"; runs {min(runs):.2f}-{max(runs):.2f} s" if runs and len(runs) > 1 else ""
    return {"figure": figure, "value": round(seconds if value is None else value, 2), "unit": unit,
            "target": f"{ratio:.2f}x its floor of {floor:.2f} s (bound {bound:g}x){spread}",
            "ratio": round(ratio, 3), "bound": bound}


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def timed(command: list[str] | str, cwd: Path | None = None, shell: bool = False,
          memory: bool = False) -> tuple[float, float]:
    """(seconds, with `memory` the peak MB of the whole process tree, else 0) of one command, its
    output discarded. The tree is sampled every 50 ms from /proc (a job's parse workers count with
    it); sampling costs CPU, so timings that matter are taken without it."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd or ROOT, shell=shell, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    peak = 0.0
    if memory:
        while process.poll() is None:
            peak = max(peak, _tree_rss_mb(process.pid))
            time.sleep(0.05)
    process.wait()
    seconds = time.perf_counter() - start
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command}: exit {process.returncode}: {process.stderr.read().decode()[-500:]}")
    return seconds, peak


def _tree_rss_mb(root: int) -> float:
    """Proportional set size (shared pages split between their users) of `root` and its descendants:
    forked workers share most of their memory with the process that forked them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            pass
        stack.extend(children.get(pid, []))
    return total / 2**20


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
