"""Where the real helpcenter dumps are (never copied into the project).

../shared beside the clone when it holds a corpus, else the directory VEEAM_PERMS_CORPUS names
(built with `veeam-perms corpus fetch --to DIR`). A missing corpus FAILS the tests that read it,
always: there is no switch that turns those failures into skips.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from pipeline.jobs.corpus import CORPUS_VARIABLE, bundle_path, default_root, gcp_dir

ROOT = default_root()
SEED = ROOT / "seeds" / "000_5456940f73b6abf5.txt"
BUNDLES = {name: bundle_path(ROOT, name) for name in ("vbaws", "vbazure", "vbr", "vb365")}
GCP_DOCS = gcp_dir(ROOT) / "docs"

LIST_KEYS = re.compile(
    r'"(Action|NotAction|actions|notActions|dataActions|notDataActions)"\s*:\s*(\[[^\]]*\]|"[^"]*")'
)
QUOTED = re.compile(r'"([^"]+)"')


def missing_message(path: Path) -> str:
    return (f"{path} is absent: the real helpcenter corpus is missing. Build it with "
            f"`.venv/bin/veeam-perms corpus fetch --to DIR` and set {CORPUS_VARIABLE}=DIR (or put it in "
            f"../shared beside the clone)")


def need(path: Path) -> Path:
    """`path` inside the corpus; a failure saying how to get the corpus when it is absent."""
    if path.exists():
        return path
    pytest.fail(missing_message(path), pytrace=False)


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
