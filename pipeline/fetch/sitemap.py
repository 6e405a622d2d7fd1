"""Sitemaps: which pages a guide has and when each last changed (pure; the fetcher brings the bytes).

Parsed with lxml set up for untrusted input: no DTD, no entity expansion, no network, no huge
trees; the body was already capped by the fetcher.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from lxml import etree

from catalog.urls import canonicalize


class SitemapError(ValueError):
    pass


def sitemap_paths(entries: tuple[str, ...]) -> list[str]:
    """`/docs/<product>/<guide>/sitemap.xml` of every guide a product's entry pages are in."""
    paths = []
    for entry in entries:
        segments = urlsplit(entry).path.strip("/").split("/")
        if len(segments) >= 4 and segments[0] == "docs":
            path = "/" + "/".join(segments[:3]) + "/sitemap.xml"
            if path not in paths:
                paths.append(path)
    return paths


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_sitemap(body: bytes, base_url: str, public_hosts: set[str]) -> dict[str, str | None]:
    """{page URL under `base_url`: lastmod or None} of a `<urlset>`.

    A `<loc>` names the public host; it is mapped onto `base_url` (a mirror or a local test site).
    Locs on other hosts are ignored, `.md` twins are named by their `.html` page.
    """
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as error:
        raise SitemapError(f"not a readable sitemap ({error})") from error
    if _local(root.tag) != "urlset":
        raise SitemapError(f"not a sitemap <urlset> but <{_local(root.tag)}>")
    base_host = urlsplit(base_url).netloc.lower()
    pages: dict[str, str | None] = {}
    for item in root:
        if _local(item.tag) != "url":
            continue
        fields = {_local(child.tag): (child.text or "").strip() for child in item}
        loc = urlsplit(fields.get("loc", ""))
        if loc.netloc.lower() not in public_hosts | {base_host} or not loc.path:
            continue
        path = loc.path[:-3] + ".html" if loc.path.endswith(".md") else loc.path
        url = canonicalize(base_url.rstrip("/") + path + (f"?{loc.query}" if loc.query else ""))
        pages[url] = fields.get("lastmod") or None
    return pages
