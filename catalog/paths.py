"""Where a command may write: inside its target folder, and nowhere a name from the data or a
symbolic link planted in the folder would send it.

Export, publish and the canary name files after catalog data (product codes, page names) or
fetched URLs, in folders a user or an earlier run may have changed. Every such write resolves
its path first and refuses `..`, absolute names and any symbolic link on the way (a folder or
the file itself), then opens the file without following links.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from catalog.urls import PRODUCT_CODE


class OutsideTarget(ValueError):
    """A write that would leave its target folder; the message names the folder and the path."""


def require_product_code(code) -> str:
    """The product code, or OutsideTarget when it could not safely name a file (`../../x`)."""
    if not isinstance(code, str) or not PRODUCT_CODE.match(code):
        shown = repr(code)[:80]
        raise OutsideTarget(f"the catalog names a product {shown}, which is not a product code (lower-case "
                            "letters, digits, '-' and '_'); nothing is written under such a name")
    return code


def path_inside(target: Path, relative: str) -> Path:
    """`target/relative`, refused when it would leave `target` or pass through a symbolic link."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or any(part in (".", "..") for part in parts) \
            or "\\" in relative or "\0" in relative:
        raise OutsideTarget(f"{target}: refusing to write {relative!r}, which names a place outside the folder")
    path = Path(target)
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise OutsideTarget(f"{target}: refusing to write through the symbolic link {path} "
                                f"(-> {os.readlink(path)}); writes stay inside the folder")
    if not path.resolve().is_relative_to(Path(target).resolve()):
        raise OutsideTarget(f"{target}: refusing to write {relative!r}, which resolves outside the folder")
    return path


def write_inside(target: Path, relative: str, data: str | bytes) -> Path:
    """Write `data` to `target/relative` (folders made as needed), never outside `target`."""
    path = path_inside(target, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path_inside(target, relative)  # a link planted while the folders were made
    raw = data.encode("utf-8") if isinstance(data, str) else data
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(raw)
    return path


def links_inside(target: Path, limit: int = 100_000) -> list[Path]:
    """Symbolic links anywhere under `target` (not followed), at most `limit` entries looked at."""
    found, seen = [], 0
    for folder, folders, files in os.walk(target, followlinks=False):
        for name in folders + files:
            seen += 1
            path = Path(folder) / name
            if path.is_symlink():
                found.append(path)
            if seen >= limit:
                return found
    return found
