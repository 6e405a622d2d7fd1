"""Find page files on disk and parse each one, turning failures into messages."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from catalog.limits import read_at_most
from catalog.model import Page
from catalog.urls import UrlRejected, require_helpcenter_url
from pipeline.parse.inert import may_hold_permissions
from pipeline.parse.limits import MAX_PAGE_BYTES, LimitExceeded
from pipeline.parse.markdown_frontend import read_front_matter
from pipeline.parse.page import (
    page_url,
    parse_any_markdown_page,
    parse_html_page,
    parse_markdown_page,
    parse_veeam_markdown_page,
)
from pipeline.parse.veeam_markdown import is_veeam_markdown

PAGE_SUFFIXES = {".md": "markdown", ".txt": "markdown", ".html": "html", ".htm": "html"}


class PageError(Exception):
    """A page that could not be read or parsed; the message names the file and the reason."""


@dataclass(frozen=True)
class PageFile:
    path: Path

    @property
    def kind(self) -> str:
        return page_kind(str(self.path))


def iter_page_files(paths: Iterable[str | os.PathLike]) -> Iterator[PageFile]:
    """Files as given, and directories walked in sorted order for page files."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if Path(name).suffix.lower() in PAGE_SUFFIXES:
                        yield PageFile(Path(root) / name)
        elif path.exists():
            yield PageFile(path)
        else:
            raise PageError(f"{path}: no such file or directory")


def decode_page(data: bytes, where: str) -> str:
    """Bytes of a page as text; refuses oversized, binary and non-UTF-8 bodies with a reason."""
    if len(data) > MAX_PAGE_BYTES:
        raise PageError(f"{where}: {len(data):,} bytes is over the {MAX_PAGE_BYTES:,}-byte page limit")
    if b"\x00" in data[:8192]:
        raise PageError(f"{where}: binary content (NUL bytes), not a page")
    try:
        return data.decode("utf-8-sig")  # a byte order mark is not page text
    except UnicodeDecodeError as error:
        raise PageError(
            f"{where}: not valid UTF-8 at byte {error.start} ({error.reason})"
        ) from error


def parse_page_text(text: str, kind: str, path: str | None = None, url: str | None = None) -> Page:
    """Parse one page; kind `markdown` tells Veeam's Markdown from the dump's by its front matter."""
    where = path or url or "page"
    try:
        if kind == "html":
            return parse_html_page(text, url=url, path=path)
        if kind == "veeam-markdown":
            return parse_veeam_markdown_page(text, path=path, url=url)
        if kind == "markdown-dump":
            return parse_markdown_page(text, path=path, url=url)
        return parse_any_markdown_page(text, path=path, url=url)
    except RecursionError as error:
        raise PageError(f"{where}: structure nested too deeply to parse") from error
    except LimitExceeded as error:
        raise PageError(f"{where}: {error}") from error


@dataclass(frozen=True)
class Unread:
    """A dump page the cheap pass (`parse.inert`) showed to hold no permission: only its URL was
    read. Its Page would have no operation, mention or warning."""

    url: str | None


def parse_or_skip(data: bytes, kind: str, where: str, path: str | None = None) -> Page | Unread:
    """A page file's bytes -> its Page; an `Unread` for a dump page that cannot hold a permission.

    Jobs that only store permission pages (ingest) take this; `parse` reports every page whole.
    """
    text = decode_page(data, where)
    if kind in ("markdown", "markdown-dump"):
        meta, body = read_front_matter(text)
        dump = kind == "markdown-dump" or not is_veeam_markdown(text, meta, body)
        if dump and not may_hold_permissions(data):
            return require_page_url(Unread(page_url(meta.get("source_url") or None)), where)
    return require_page_url(parse_page_text(text, kind, path=path), where)


def read_page_bytes(path: str | os.PathLike) -> bytes:
    """A page file's bytes, never more than the page limit read (a larger file is a PageError)."""
    try:
        with open(path, "rb") as handle:
            data = read_at_most(handle, MAX_PAGE_BYTES)
    except OSError as error:
        raise PageError(f"{path}: cannot read ({error.strerror})") from error
    if len(data) > MAX_PAGE_BYTES:
        raise PageError(f"{path}: {os.stat(path).st_size:,} bytes is over the {MAX_PAGE_BYTES:,}-byte page limit")
    return data


def page_kind(path: str) -> str:
    return PAGE_SUFFIXES.get(os.path.splitext(path)[1].lower(), "markdown")


def parse_file(page_file: PageFile | str) -> Page:
    where = str(page_file.path if isinstance(page_file, PageFile) else page_file)
    return parse_page_text(decode_page(read_page_bytes(where), where), page_kind(where), path=where)


def require_page_url(page: Page | Unread, where: str, allowed_base: str | None = None):
    """The page, when its URL is a helpcenter page (`catalog.urls.require_helpcenter_url`);
    otherwise a PageError naming the file, so ingest and scrape list it as a failed page."""
    if page.url:
        try:
            require_helpcenter_url(page.url, allowed_base)
        except UrlRejected as error:
            raise PageError(f"{where}: {error}") from error
    return page
