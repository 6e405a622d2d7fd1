"""Which pages to fetch: the product configuration, link extraction and crawl scope (pure)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from html import unescape
from importlib import resources
from urllib.parse import urljoin, urlsplit

from catalog.urls import PRODUCT_ALIASES, PRODUCT_CODE, canonicalize, parse_url


@dataclass(frozen=True)
class ProductConfig:
    code: str
    name: str
    entry: tuple[str, ...]
    follow: re.Pattern
    max_pages: int
    moved: dict[str, str] = field(default_factory=dict)
    """Pages of this product that live at another address now (new path -> the path its history has)."""

    def slugs_of(self) -> set[str]:
        return {self.code} | {alias for alias, code in PRODUCT_ALIASES.items() if code == self.code}


class ConfigError(ValueError):
    pass


def read_config(name: str, text: str | None = None, where: str | None = None,
                error: type[Exception] = ConfigError) -> dict:
    """A TOML list packaged beside this module (`name`), or `text` in its place; a syntax error is
    `error` naming `where` (the file name by default)."""
    if text is None:
        text = resources.files("pipeline.fetch").joinpath(name).read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{where or name}: {problem}") from problem


def load_products(text: str | None = None) -> dict[str, ProductConfig]:
    """Read products.toml (the packaged one unless `text` is given)."""
    data = read_config("products.toml", text)
    defaults = data.get("defaults", {})
    products = {}
    for code, item in data.get("products", {}).items():
        if not PRODUCT_CODE.match(code):
            raise ConfigError(f"products.toml: [products.{code}]: a product key is a product code (lower-case "
                              "letters, digits, '-' and '_'), as in the helpcenter's URLs")
        missing = [key for key in ("name", "entry") if key not in item]
        if missing:
            raise ConfigError(f"products.toml: [products.{code}] lacks {', '.join(missing)}")
        products[code] = ProductConfig(
            code, item["name"], tuple(item["entry"]),
            re.compile(item.get("follow", defaults.get("follow", ".*"))),
            int(item.get("max_pages", defaults.get("max_pages", 500))), _moved(code, item.get("moved", {})))
    return products


def _moved(code: str, moved: object) -> dict[str, str]:
    pairs = moved.items() if isinstance(moved, dict) else [(None, None)]
    for new, old in pairs:
        if not all(isinstance(path, str) and path.startswith("/docs/") and path.endswith(".html")
                   for path in (new, old)):
            raise ConfigError(f"products.toml: [products.{code}.moved]: each entry maps a page's new path to "
                              "its old one, both /docs/....html")
    return dict(moved) if isinstance(moved, dict) else {}


# A regular expression rather than a parser: link extraction runs on every crawled page, and
# helpcenter pages carry a table of contents with hundreds of links. No part of it crosses a `<`
# or `>`: from every unclosed `<a ` or quote it would otherwise rescan the rest of the page.
_HREF = re.compile(r"""<a\s[^<>]*?href\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)'|([^\s<>]+))""", re.I)


def extract_links(html: str, page_url: str) -> list[str]:
    """Absolute, canonical link targets of a page, in order, without duplicates."""
    seen, links = set(), []
    for match in _HREF.finditer(html):
        href = unescape(next(group for group in match.groups() if group is not None)).strip()
        if not href:
            continue
        if href.startswith(("mailto:", "javascript:", "#")):
            continue
        url = canonicalize(urljoin(page_url, href))
        if url not in seen:
            seen.add(url)
            links.append(url)
    return links


def in_scope(url: str, product: ProductConfig, base_url: str) -> bool:
    """Same site, this product's docs or archive, an HTML page whose name the config follows."""
    parts = urlsplit(url)
    if parts.netloc.lower() != urlsplit(base_url).netloc.lower():
        return False
    if parts.path in product.moved:
        return True  # a page of this product at its new address
    segments = parts.path.strip("/").split("/")
    if len(segments) < 3 or segments[0] not in ("docs", "archive") or \
            segments[1].lower() not in product.slugs_of():
        return False
    info = parse_url(url)
    return info.slug is not None and bool(product.follow.search(info.slug))


def helpcenter_url(fetched_url: str, base_url: str, public_base: str) -> str:
    """The public helpcenter URL of a page fetched from a mirror (same path and query)."""
    if base_url.rstrip("/") == public_base.rstrip("/"):
        return canonicalize(fetched_url)
    parts = urlsplit(fetched_url)
    return canonicalize(public_base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else ""))


# Veeam's Markdown links its pages as `[text](page.md)`; the page they name is the `.html` one.
_MD_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)")


def extract_markdown_links(text: str, page_url: str) -> list[str]:
    """Canonical `.html` targets of a Markdown page's links, in order, without duplicates."""
    seen, links = set(), []
    for match in _MD_LINK.finditer(text):
        href = match.group(1).strip()
        if href.startswith(("mailto:", "javascript:", "#")):
            continue
        url = urlsplit(canonicalize(urljoin(page_url, href)))
        path = url.path[:-3] + ".html" if url.path.endswith(".md") else url.path
        link = url._replace(path=path).geturl()
        if link not in seen:
            seen.add(link)
            links.append(link)
    return links


def markdown_twin(url: str) -> str | None:
    """The `.md` twin of an `.html` page URL (same query), or None for anything else."""
    parts = urlsplit(url)
    if not parts.path.endswith(".html"):
        return None
    return parts._replace(path=parts.path[: -len(".html")] + ".md").geturl()
