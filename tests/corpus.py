"""Access to the real helpcenter dumps in ../shared (never copied into the project)."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED = SHARED / "seeds" / "000_5456940f73b6abf5.txt"
BUNDLES = {name: SHARED / "corpus" / f"veeam-docs-{name}.bundle"
           for name in ("vbaws", "vbazure", "vbr", "vb365")}
GCP_DOCS = SHARED / "corpus" / "vbgcp" / "docs"

LIST_KEYS = re.compile(
    r'"(Action|NotAction|actions|notActions|dataActions|notDataActions)"\s*:\s*(\[[^\]]*\]|"[^"]*")'
)
QUOTED = re.compile(r'"([^"]+)"')


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: the real helpcenter corpus lives in ../shared beside the clone")
    return path


@cache
def clone(name: str, root: str) -> Path:
    """Clone one bundle under `root` (a pytest tmp dir) once per session."""
    target = Path(root) / name
    if not target.exists():
        subprocess.run(["git", "clone", "-q", str(need(BUNDLES[name])), str(target)], check=True)
    return target


def listed_names(text: str) -> set[str]:
    """Every quoted entry of an AWS Action/NotAction or Azure placement list, read independently."""
    from pipeline.parse.lenient_json import clean_text

    names = set()
    for _key, body in LIST_KEYS.findall(clean_text(text)):
        names.update(name.strip() for name in QUOTED.findall(body) if name.strip())
    return names
