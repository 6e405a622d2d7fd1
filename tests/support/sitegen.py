"""A local helpcenter-like site built from dump pages, and a small server for it.

Used to record cassettes, to test and benchmark the scraper against real sockets on
127.0.0.1, and by the scale generator. Pages keep their helpcenter paths (and `?ver=`
queries); each carries the guide's table of contents and a version selector as links,
the way the helpcenter does, inside a <nav> the HTML front-end ignores.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from catalog.urls import parse_url
from pipeline.parse.markdown_frontend import parse_markdown_blocks
from tests.support.render_html import render_document

ROBOTS = "User-agent: *\nDisallow: /search/\n"


def _nav(links: list[tuple[str, str]], label: str) -> str:
    items = "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for text, href in links)
    return f'<nav aria-label="{label}"><ul>{items}</ul></nav>'


def build_site(pages: dict[str, str]) -> dict[str, str]:
    """Dump pages (name -> Markdown) -> {path[?query]: HTML}."""
    documents = []
    for name, text in sorted(pages.items()):
        document = parse_markdown_blocks(text)
        url = document.meta.get("source_url")
        if not url:
            raise ValueError(f"{name}: a site page needs source_url in its front matter")
        parts = urlsplit(url)
        documents.append((parts.path + (f"?{parts.query}" if parts.query else ""), parse_url(url),
                          document))
    families: dict[str, list[tuple[str, str]]] = {}
    toc: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for path, info, document in documents:
        label = info.version_label or "current"
        families.setdefault(info.family, []).append((label, path))
        if info.version_label is None:
            toc.setdefault((info.product, info.guide), []).append(
                (document.meta.get("title", info.slug), path))
    site = {}
    for path, info, document in documents:
        archived = info.version_label is not None
        navigation = _nav(sorted(toc.get((info.product, info.guide), [])), "contents") + _nav(
            sorted(families[info.family]), "versions")
        html = render_document(document, archived=archived)
        site[path] = html.replace("<nav>", navigation + "<nav>", 1)
    site["/robots.txt"] = ROBOTS
    return site


def load_site(folder: Path) -> dict[str, str]:
    return build_site({p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))})


Fault = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class SiteServer:
    """Serves a site on 127.0.0.1 with ETag/Last-Modified, optional latency and fault handlers."""

    site: dict[str, str]
    port: int = 0
    latency: float = 0.0
    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[tuple[str, int, int]] = field(default_factory=list)  # (path, status, body bytes)
    last_modified: str = field(default_factory=lambda: formatdate(1767225600, usegmt=True))

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                if server.latency:
                    time.sleep(server.latency)
                if self.path in server.faults:
                    server.faults[self.path](self)
                    return
                server.answer(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, path: str, status: int, size: int) -> None:
        with self._lock:
            self.requests.append((path, status, size))

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        body_text = self.site.get(handler.path)
        if body_text is None:
            self.send(handler, 404, b"<html><body>not found</body></html>")
            return
        body = body_text.encode("utf-8")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if handler.headers.get("If-None-Match") == etag:
            self.send(handler, 304, b"", {"ETag": etag})
            return
        kind = "text/plain" if handler.path.endswith(".txt") else "text/html; charset=utf-8"
        self.send(handler, 200, body, {"ETag": etag, "Last-Modified": self.last_modified,
                                        "Content-Type": kind})

    def send(self, handler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        # Recorded before answering: once the client has the response, the request is in the list.
        self.record(handler.path, status, len(body))
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if body:
            handler.wfile.write(body)

    def __enter__(self) -> SiteServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
