"""A hostile helpcenter on 127.0.0.1: slow drips, endless and compressed-bomb robots.txt, 429 storms, 5xx.

Everything big is generated lazily while it is sent, so the server itself stays small, and it
counts what it sent, so a test can tell that the client hung up early.
"""

from __future__ import annotations

import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GIB = 1024 ** 3
PAGE = ("<html><head><title>Permissions</title></head><body><h1>Permissions</h1><p>"
        + "Documentation text about the permissions a role needs. " * 20 + "</p></body></html>").encode()
ROBOTS_HEAD = b"User-agent: *\nDisallow: /private/\n"
# Valid HTML that costs the parser seconds and hundreds of MB: every tag opens another level.
HOSTILE_PAGE = (b"<html><head><title>Permissions</title></head><body><h1>Permissions</h1><p>"
                + b"Documentation text about the permissions a role needs. " * 20 + b"</p>"
                + b"<b>" * (4 * 1024 * 1024 // 3) + b"</body></html>")


def gzip_bomb(decoded_bytes: int, block: int = 1024 * 1024):
    """Chunks of a gzip stream that inflates to `decoded_bytes` zeros, made while it is sent."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(block)
    for _ in range(decoded_bytes // block):
        out = compressor.compress(zeros)
        if out:
            yield out
    yield compressor.flush()


def endless_robots(total: int, block: int = 64 * 1024):
    """A robots.txt of `total` bytes: two real rules, then comment lines."""
    yield ROBOTS_HEAD
    line = b"# " + b"x" * 61 + b"\n"
    filler = line * (block // len(line))
    sent = len(ROBOTS_HEAD)
    while sent < total:
        piece = filler[: total - sent]
        sent += len(piece)
        yield piece


@dataclass
class HostileServer:
    """`robots`: normal | huge (1 GiB) | bomb (gzip to 1 GiB) | 503 | 404.

    Paths: /ok.html, /drip.html (one byte every `drip_every` s), /bomb.html (gzip bomb), any path with
    `hostile` in it (a 4 MB page of unclosed <b> tags: seconds of parsing and hundreds of MB),
    any path with `storm` in it (429 with Retry-After: 3600), /private/<any> (robots-disallowed).
    """

    robots: str = "normal"
    drip_every: float = 1.0
    requests: list[str] = field(default_factory=list)
    sent_bytes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(self.path)
                try:
                    server.route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up, as it should

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def route(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if path == "/robots.txt":
            self.send_robots(handler)
        elif path == "/drip.html":
            self.stream(handler, path, (b"<" if i == 0 else b"x" for i in range(10_000)),
                        {"Content-Length": "10000", "Content-Type": "text/html"}, pause=self.drip_every)
        elif path == "/bomb.html":
            self.stream(handler, path, gzip_bomb(GIB), {"Content-Type": "text/html",
                                                        "Content-Encoding": "gzip"}, chunked=True)
        elif "hostile" in path:
            self.stream(handler, path, [HOSTILE_PAGE], {"Content-Type": "text/html; charset=utf-8",
                                                        "Content-Length": str(len(HOSTILE_PAGE))})
        elif "storm" in path:
            self.stream(handler, path, [b"slow down"], {"Retry-After": "3600", "Content-Length": "9"},
                        status=429)
        else:
            self.stream(handler, path, [PAGE], {"Content-Type": "text/html; charset=utf-8",
                                                "Content-Length": str(len(PAGE))})

    def send_robots(self, handler: BaseHTTPRequestHandler) -> None:
        if self.robots in ("503", "404"):
            body = b"unavailable"
            self.stream(handler, "/robots.txt", [body], {"Content-Length": str(len(body))},
                        status=int(self.robots))
        elif self.robots == "huge":
            self.stream(handler, "/robots.txt", endless_robots(GIB),
                        {"Content-Length": str(GIB), "Content-Type": "text/plain"})
        elif self.robots == "bomb":
            self.stream(handler, "/robots.txt", _prefixed_bomb(), {"Content-Type": "text/plain",
                                                                   "Content-Encoding": "gzip"}, chunked=True)
        else:
            self.stream(handler, "/robots.txt", [ROBOTS_HEAD],
                        {"Content-Length": str(len(ROBOTS_HEAD)), "Content-Type": "text/plain"})

    def stream(self, handler, path: str, chunks, headers: dict[str, str], status: int = 200,
               pause: float = 0.0, chunked: bool = False) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for chunk in chunks:
            if not chunk:
                continue
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            handler.wfile.flush()
            with self._lock:
                self.sent_bytes[path] = self.sent_bytes.get(path, 0) + len(chunk)
            if pause:
                time.sleep(pause)
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")

    def __enter__(self) -> HostileServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _prefixed_bomb():
    """A gzip stream of the two robots rules followed by 1 GiB of spaces."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    yield compressor.compress(ROBOTS_HEAD)
    spaces = b" " * (1024 * 1024)
    for _ in range(GIB // len(spaces)):
        out = compressor.compress(spaces)
        if out:
            yield out
    yield compressor.flush()
