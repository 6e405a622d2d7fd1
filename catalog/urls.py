"""Helpcenter URLs: what a URL says about the page, and its canonical form."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_HOST = "helpcenter.veeam.com"
PUBLIC_BASE = f"https://{DEFAULT_HOST}"  # where every stored page URL lives
# Products the helpcenter renamed over time: one product in the catalog. Archives keep the old
# slugs: `backup` (Backup & Replication), `vac` (Veeam Availability Console, today's Service
# Provider Console), `vb365`/`vbo365` (Backup for Microsoft 365).
PRODUCT_ALIASES = {"backup": "vbr", "vbgcp": "vbgc", "vb365": "vbo365", "vac": "vspc"}
# A product code as the helpcenter spells it in URLs (`vbaws`, `vbo365`, `agentforwindows`):
# also the name of a folder or file (`<product>.atom`), so never `..` or a path.
PRODUCT_CODE_PART = r"[a-z0-9][a-z0-9_-]{0,63}"  # also what a site route accepts as <code>
PRODUCT_CODE = re.compile(rf"^{PRODUCT_CODE_PART}$")
# Parameters that track or highlight, never select content: a link carrying them names the same
# page (`?zoom_highlight=dedupe-friendly&ver=13` is release 13 of the page, highlighted).
_DROPPED_QUERY = frozenset({"ck", "ad", "zoom_highlight", "gclid", "fbclid", "msclkid", "mc_cid", "mc_eid",
                            "_ga", "_gl"})
_DROPPED_PREFIXES = ("utm_",)
_PAGE = r"(?P<guide>[^/]+)/(?:.*/)?(?P<slug>[^/]+?)\.(?:html?|md)$"
# A release label: `13`, `120`, `6a`, `95u4`.
LABEL = r"\d{1,3}[a-z]?(?:u\d{1,2})?"
_DOCS = re.compile(r"^/docs/(?P<product>[^/]+)/" + _PAGE)
_ARCHIVE = re.compile(r"^/archive/(?P<product>[^/]+)/(?P<label>[^/]+)/" + _PAGE)
# Legacy URLs without /docs/ (`/backup/powershell/x.html`, `/backup/80/vsphere/x.html`), only for
# product slugs: `/static/js/x.html` is not a page.
LEGACY_PRODUCTS = ("backup", "vbo365", "vb365", "vac", "one", "agentforwindows", "vbaws", "vbazure",
                   "vbgc", "vbr")
_LEGACY = re.compile(r"^/(?P<product>" + "|".join(LEGACY_PRODUCTS) + r")/(?:(?P<label>" + LABEL
                     + r")/)?" + _PAGE, re.I)
_LABEL_PARTS = re.compile(r"^(\d{1,3})([a-z]?)(?:u(\d{1,2}))?$", re.I)
# Two-digit labels read as "d.d" from 20 up (`81` is 8.1, `13` is 13); these are the exceptions.
_LABEL_EXCEPTIONS = {("vbo365", "15"): "1.5"}


@dataclass(frozen=True)
class UrlParts:
    product: str | None
    guide: str | None
    slug: str | None
    version_label: str | None
    canonical: str

    @property
    def family(self) -> str:
        """The page across releases: the current-docs URL without `ver`, archives folded in."""
        if not (self.product and self.guide and self.slug):
            return self.canonical.split("?", 1)[0]
        host = urlsplit(self.canonical).netloc or DEFAULT_HOST
        return f"https://{host}/docs/{self.product}/{self.guide}/{self.slug}.html"


def canonical_product(code: str | None) -> str | None:
    if code is None:
        return None
    code = code.lower()
    return PRODUCT_ALIASES.get(code, code)


def canonicalize(url: str) -> str:
    """Drop tracking and highlighting parameters (`ck`, `ad`, `zoom_highlight`, `utm_*`, ...) and the
    fragment; keep `ver`; sort the rest."""
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "https").lower()
    host = parts.netloc.lower()
    query = sorted((key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
                   if key.lower() not in _DROPPED_QUERY and not key.lower().startswith(_DROPPED_PREFIXES))
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


@functools.lru_cache(maxsize=65536)
def parse_url(url: str) -> UrlParts:
    """Product, guide, slug and release label of a helpcenter URL (current, archive or legacy).

    Cached: a dump's history names each page's URL once per version of it."""
    canonical = canonicalize(url)
    parts = urlsplit(canonical)
    version = dict(parse_qsl(parts.query)).get("ver")
    match = _ARCHIVE.match(parts.path) or _DOCS.match(parts.path) or _LEGACY.match(parts.path)
    if not match:
        return UrlParts(None, None, None, version, canonical)
    version = match.groupdict().get("label") or version
    return UrlParts(canonical_product(match.group("product")), match.group("guide"),
                    match.group("slug"), version, canonical)


def release_of_label(product: str | None, label: str | None) -> str | None:
    """The release a version label names, as a dotted version: `120` -> `12.0`, `95u4` -> `9.5.4`,
    `81` -> `8.1`, `13` -> `13`, `6a` -> `6a`; None when the label is not a release label."""
    if not label:
        return None
    match = _LABEL_PARTS.match(label.strip())
    if not match:
        return None
    if (product, label.lower()) in _LABEL_EXCEPTIONS:
        return _LABEL_EXCEPTIONS[(product, label.lower())]
    digits, letter, update = match.groups()
    if len(digits) == 3:
        version = f"{digits[:2]}.{digits[2]}"
    elif len(digits) == 2 and int(digits) >= 20:
        version = f"{digits[0]}.{digits[1]}"
    else:
        version = str(int(digits))
    if update:
        version += f".{int(update)}"
    return version + letter.lower()


def version_sort_key(label: str) -> tuple:
    """Sortable form of a version label such as `9`, `8.1`, `6a`, `12.3`.

    Numbers compare as numbers and trailing letters after them (`6a` > `6`).
    """
    key: list[tuple[int, int | str]] = []
    for part in re.findall(r"\d+|[A-Za-z]+", label):
        key.append((0, int(part)) if part.isdigit() else (1, part.lower()))
    return tuple(key)


class UrlRejected(ValueError):
    """A page URL that is not a helpcenter page; the message says what is wrong with it."""


_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
# `.`/`..` segments and encoded separators: what would let a product or page name leave a folder.
_DOT_SEGMENT = re.compile(r"(?:^|/)\.{1,2}(?:/|$)|%2[ef]|%5c|\\", re.I)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def is_https_url(url) -> bool:
    """May this stored URL be rendered as a link? Only plain https URLs, no whitespace or controls."""
    return isinstance(url, str) and url[:8].lower() == "https://" and not _CONTROL_OR_SPACE.search(url)


@functools.lru_cache(maxsize=65536)
def require_helpcenter_url(url: str, allowed_base: str | None = None) -> str:
    """The one rule for which page URLs the catalog accepts: `https://helpcenter.veeam.com/...`,
    or a URL under `allowed_base` (a mirror or local test site the caller configured explicitly).

    Anything else (other schemes such as `javascript:`, other hosts, credentials or ports in the
    host, whitespace or control characters) is refused, so no stored URL can become a script link.
    Cached: a history names each page's URL once per version (a refusal is never cached).
    """
    if not isinstance(url, str) or not url:
        raise UrlRejected("no page URL")
    if _CONTROL_OR_SPACE.search(url):
        raise UrlRejected(f"page URL {url[:200]!r} holds whitespace or control characters")
    if _DOT_SEGMENT.search(urlsplit(url).path):
        raise UrlRejected(f"page URL {url[:200]!r} has '.' or '..' path segments or encoded separators")
    product = parse_url(url).product
    if product is not None and not PRODUCT_CODE.match(product):
        raise UrlRejected(f"page URL {url[:200]!r} names the product {product[:80]!r}, which is not a "
                          "product code (lower-case letters, digits, '-' and '_')")
    if allowed_base and _origin(url) == _origin(allowed_base) and urlsplit(url).path.startswith(
            urlsplit(allowed_base).path.rstrip("/") + "/"):
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or parts.netloc.lower() != DEFAULT_HOST or not parts.path.startswith("/"):
        raise UrlRejected(f"page URL {url[:200]!r} is not an https://{DEFAULT_HOST}/ page")
    return url
