"""The authored site as a helpcenter that also serves Markdown twins (`page.md`) and guide sitemaps.

Pages keep their `.html` form (built by sitegen) and gain a `.md` twin holding the authored
Markdown with its front matter; each guide gets `/docs/<product>/<guide>/sitemap.xml` listing
its current pages on the public host with their `lastmod`. Pages passed as `unlinked` are left
out of every table of contents: only the sitemap names them.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from tests.support.sitegen import SiteServer, build_site

PUBLIC = "https://helpcenter.veeam.com"


def _source_path(markdown: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("source_url:"):
            parts = urlsplit(line.split(":", 1)[1].strip().strip('"'))
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise ValueError("a site page needs source_url in its front matter")


def twin_path(path: str) -> str:
    page, _, query = path.partition("?")
    return page[: -len(".html")] + ".md" + (f"?{query}" if query else "")


def sitemap(entries: dict[str, str]) -> str:
    urls = "".join(f"<url><loc>{escape(PUBLIC + path)}</loc><lastmod>{lastmod}</lastmod></url>"
                   for path, lastmod in sorted(entries.items()))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n')


def build_markdown_site(pages: dict[str, str], unlinked: dict[str, str] | None = None,
                        lastmods: dict[str, str] | None = None) -> dict[str, str]:
    """{path: body} with `.html` pages, `.md` twins and sitemaps; lastmods by page path (default a date)."""
    site = build_site(pages)
    for name, text in (unlinked or {}).items():
        alone = build_site({name: text})
        site.update({path: body for path, body in alone.items() if path != "/robots.txt"})
    guides: dict[str, dict[str, str]] = {}
    for text in [*pages.values(), *(unlinked or {}).values()]:
        path = _source_path(text)
        site[twin_path(path)] = text
        if "?" not in path and path.startswith("/docs/"):
            guide = path.rsplit("/", 1)[0]
            guides.setdefault(guide, {})[path] = (lastmods or {}).get(path, "2026-01-20")
    for guide, entries in guides.items():
        site[f"{guide}/sitemap.xml"] = sitemap(entries)
    return site


class MarkdownSiteServer(SiteServer):
    """SiteServer with Markdown and XML content types."""

    def send(self, handler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        path = urlsplit(handler.path).path
        if status == 200 and path.endswith(".md"):
            headers["Content-Type"] = "text/markdown; charset=utf-8"
        elif status == 200 and path.endswith(".xml"):
            headers["Content-Type"] = "application/xml"
        super().send(handler, status, body, headers)
