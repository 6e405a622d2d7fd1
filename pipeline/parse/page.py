"""Page text in, `Page` out: front-end, extractor and metadata, no I/O."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from catalog.model import BuildSource, Page, ParseWarning, SourceKind
from catalog.urls import UrlParts, canonicalize, parse_url, release_of_label
from pipeline.parse.blocks import Document, Footer, Heading
from pipeline.parse.extract import extract
from pipeline.parse.markdown_frontend import parse_markdown_blocks, read_front_matter
from pipeline.parse.veeam_markdown import is_veeam_markdown, parse_veeam_markdown_blocks

_US_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_BUILD = re.compile(r"^\d+(?:\.\d+){1,4}$")
MAX_FRONT_MATTER_LINES = 64
_PAGE_SUFFIX = re.compile(r"\.(?:html?|md)$", re.I)


def _page_identity(url: str) -> tuple[str, str]:
    parts = urlsplit(canonicalize(url))
    return parts.netloc, _PAGE_SUFFIX.sub("", parts.path).lower()


def is_markdown(body: bytes, page_url: str) -> bool:
    """Did a `.md` request get the Markdown of this page? Only when it opens with front matter
    (closed within its first 64 lines, read as every front-end reads it) naming the page's own
    URL: an HTML soft-404, a login text or another page served with 200 and `text/markdown` is
    not Markdown of this page, whatever its content type says."""
    head = body[:16384].decode("utf-8", "replace").lstrip("\ufeff").split("\n", MAX_FRONT_MATTER_LINES)
    meta, start = read_front_matter("\n".join(head[:MAX_FRONT_MATTER_LINES]))
    named = meta.get("canonical") or meta.get("source_url")
    try:
        return start > 0 and bool(named) and _page_identity(named) == _page_identity(page_url)
    except ValueError:  # a value that is no URL at all ("http://[")
        return False


def parse_us_date(text: str | None) -> dt.date | None:
    """`8/8/2025` (or `2025-08-08`) -> 2025-08-08; anything else (`2024`, empty) -> None."""
    match = _US_DATE.match(text or "")
    if match:
        month, day, year = (int(group) for group in match.groups())
    elif match := _ISO_DATE.match(text or ""):
        year, month, day = (int(group) for group in match.groups())
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _footer_values(document: Document) -> tuple[str | None, str | None]:
    updated = build = None
    for block in document.blocks:
        if isinstance(block, Footer):
            updated = block.updated or updated
            build = block.build or build
    return updated, build


def _title(document: Document, slug: str | None) -> str | None:
    title = document.meta.get("title")
    if title and title != slug:
        return title
    for block in document.blocks:
        if isinstance(block, Heading) and block.level == 1:
            return block.text
    return title


def _build_of(stated: str | None, parts: UrlParts | None,
              warnings: list[ParseWarning]) -> tuple[str | None, BuildSource | None]:
    """The page's own build; else, where the release label is the only evidence, the label's."""
    if stated:
        if not _BUILD.match(stated):
            warnings.append(ParseWarning(block="page", message=f"build {stated!r} is not dotted numbers"))
        return stated, "page"
    from_label = release_of_label(parts.product, parts.version_label) if parts else None
    return (from_label, "label") if from_label else (None, None)


def _page_url(url: str | None) -> tuple[str | None, UrlParts | None]:
    """The page's URL as stored (canonical when it is a helpcenter URL) and its parts."""
    parts = parse_url(url) if url else None
    return (parts.canonical if parts else url), parts


def page_url(url: str | None) -> str | None:
    """A page's URL as `build_page` stores it."""
    return _page_url(url)[0]


def build_page(
    document: Document, source_kind: SourceKind, url: str | None = None, path: str | None = None
) -> Page:
    url, parts = _page_url(url or document.meta.get("source_url") or None)
    footer_updated, footer_build = _footer_values(document)
    warnings: list[ParseWarning] = []
    candidates = [raw for raw in (document.meta.get("last_updated"), footer_updated) if raw]
    dates = [parse_us_date(raw) for raw in candidates]
    last_updated = next((date for date in dates if date), None)
    if candidates and last_updated is None:
        warnings.append(ParseWarning(
            block="page", message=f"last_updated {candidates[0]!r} is not a M/D/YYYY date; ignored"))
    build, build_source = _build_of(document.meta.get("product_version") or footer_build, parts,
                                    warnings)
    title = _title(document, parts.slug if parts else None)
    extraction = extract(document.blocks, title)
    return Page(
        url=url,
        path=path,
        product=parts.product if parts else document.meta.get("product"),
        guide=parts.guide if parts else None,
        slug=parts.slug if parts else None,
        version_label=parts.version_label if parts else None,
        title=title,
        build=build,
        build_source=build_source,
        last_updated=last_updated,
        source_kind=source_kind,
        archived=document.archived,
        operations=extraction.operations,
        mentions=extraction.mentions,
        warnings=warnings + extraction.warnings,
    )


def parse_markdown_page(text: str, path: str | None = None, url: str | None = None,
                        front: tuple[dict[str, str], int] | None = None) -> Page:
    return build_page(parse_markdown_blocks(text, front), "markdown-dump", url=url, path=path)


def parse_veeam_markdown_page(text: str, path: str | None = None, url: str | None = None) -> Page:
    return build_page(parse_veeam_markdown_blocks(text), "veeam-markdown", url=url, path=path)


def parse_any_markdown_page(text: str, path: str | None = None, url: str | None = None) -> Page:
    """A `.md` page of either kind: Veeam's own Markdown or the public dump's (its front matter read once)."""
    front = read_front_matter(text)
    if is_veeam_markdown(text, *front):
        return parse_veeam_markdown_page(text, path=path, url=url)
    return parse_markdown_page(text, path=path, url=url, front=front)


def parse_html_page(text: str, url: str | None = None, path: str | None = None) -> Page:
    from pipeline.parse.html_frontend import parse_html_blocks  # bs4/lxml load only when HTML is parsed

    return build_page(parse_html_blocks(text), "html", url=url, path=path)


def with_twin_facts(page: Page, twin: Page) -> Page:
    """A page read from Veeam's Markdown, dated and built by its helpcenter HTML twin.

    Veeam's `.md` carries no "applies to build" footer, and its `dateModified` is an export stamp
    that all pages share. The HTML states both, so the page keeps what the HTML says (its own
    values only where the HTML says nothing): read from either source, a page is the same
    version, since the build is part of what makes a version.
    """
    if page.source_kind != "veeam-markdown":
        return page
    return page.model_copy(update={
        "build": twin.build or page.build,
        "build_source": twin.build_source if twin.build else page.build_source,
        "last_updated": twin.last_updated or page.last_updated})


@dataclass(frozen=True)
class CrossCheck:
    """A "Full list" operation compared with the union of its sibling collapsible lists."""

    full_list: str
    compared: tuple[str, ...]
    missing_from_full: tuple[str, ...]
    only_in_full: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        return not self.missing_from_full and not self.only_in_full


def cross_check_full_lists(page: Page) -> list[CrossCheck]:
    """For each operation titled "Full list ...", compare it with the other lists of its section."""
    checks = []
    for full in page.operations:
        if not full.title.lower().startswith("full list") or full.kind == "trust-policy":
            continue
        siblings = [op for op in page.operations if op is not full and op.section == full.section
                    and op.kind == full.kind and op.title.lower().startswith("list of")]
        if not siblings:
            continue
        union = {p.normalized for op in siblings for p in op.permissions}
        listed = {p.normalized for p in full.permissions}
        checks.append(CrossCheck(full.title, tuple(op.title for op in siblings),
                                 tuple(sorted(union - listed)), tuple(sorted(listed - union))))
    return checks
