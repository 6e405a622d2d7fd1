"""Helpers shared by the benchmarks: where the real corpus is, and a result record."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
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
