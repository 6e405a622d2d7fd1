"""The fetcher against a fault-injecting server on 127.0.0.1 that each test starts itself."""

import asyncio
import threading
import time

import pytest

from pipeline.fetch.client import FetchConfig, Fetcher, retry_after_seconds
from tests.support.sitegen import SiteServer

PAGE = "<html><head><title>Page</title></head><body><p>" + "Documentation text. " * 30 + "</p></body></html>"


def once_then_ok(status, headers=None):
    calls = []

    def handler(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            request.server_ref.send(request, status, b"busy", headers or {})
        else:
            request.server_ref.send(request, 200, PAGE.encode(), {"Content-Type": "text/html"})

    handler.calls = calls
    return handler


@pytest.fixture
def server():
    with SiteServer({"/ok.html": PAGE, "/robots.txt": "User-agent: *\nDisallow: /private/\n"}) as srv:
        yield srv


def fetch(server, path, **config):
    async def run():
        fetcher = Fetcher(FetchConfig(base_url=server.base_url, backoff=0.05, timeout=1.0,
                                      per_host_per_second=100, **config))
        try:
            return await fetcher.fetch(path)
        finally:
            await fetcher.aclose()

    return asyncio.run(run())


def install(server, path, handler):
    def bound(request):
        request.server_ref = server
        handler(request)

    server.faults[path] = bound
    return handler


def test_429_with_retry_after_is_retried_after_the_wait(server):
    handler = install(server, "/busy.html", once_then_ok(429, {"Retry-After": "1"}))
    result = fetch(server, "/busy.html")
    assert (result.outcome, result.status, result.attempts) == ("ok", 200, 2)
    assert handler.calls[1] - handler.calls[0] >= 0.9


def test_503_then_success(server):
    install(server, "/flaky.html", once_then_ok(503))
    result = fetch(server, "/flaky.html")
    assert (result.outcome, result.attempts) == ("ok", 2)


def test_timeout_fails_loudly_after_retries(server):
    given_up = threading.Event()

    def never_answers(request):
        # Holds the request until the client has given up, then closes without a response.
        given_up.wait(timeout=30)
        request.close_connection = True

    install(server, "/slow.html", never_answers)
    try:
        result = fetch(server, "/slow.html", retries=1)
    finally:
        given_up.set()
    assert (result.outcome, result.attempts) == ("failed", 2)
    assert result.reason == "timed out (ReadTimeout)"


def test_truncated_body_is_a_failure(server):
    def truncated(request):
        request.send_response(200)
        request.send_header("Content-Length", "100000")
        request.send_header("Content-Type", "text/html")
        request.end_headers()
        request.wfile.write(PAGE.encode()[:300])
        request.wfile.flush()
        request.close_connection = True

    install(server, "/cut.html", truncated)
    result = fetch(server, "/cut.html", retries=1)
    assert result.outcome == "failed"
    assert result.reason.startswith("truncated body")


def test_redirect_to_another_host_is_refused(server):
    install(server, "/moved.html", lambda r: r.server_ref.send(
        r, 302, b"", {"Location": "https://attacker.example/page.html"}))
    result = fetch(server, "/moved.html")
    assert (result.outcome, result.reason) == (
        "failed", "redirect to attacker.example refused: not on the host allowlist")


def test_redirect_on_the_same_host_is_followed(server):
    install(server, "/old.html", lambda r: r.server_ref.send(r, 301, b"", {"Location": "/ok.html"}))
    result = fetch(server, "/old.html")
    assert (result.outcome, result.final_url) == ("ok", f"{server.base_url}/ok.html")


def test_oversized_body_is_refused(server):
    install(server, "/huge.html", lambda r: r.server_ref.send(r, 200, b"x" * 300_000,
                                                              {"Content-Type": "text/html"}))
    result = fetch(server, "/huge.html", max_bytes=100_000)
    assert (result.outcome, result.reason) == (
        "failed", "body of 300,000 bytes is over the 100,000-byte cap")


def test_bot_check_page_with_status_200_is_a_failure(server):
    challenge = (b"<html><head><title>Just a moment...</title></head><body>"
                 b"<div id='challenge-platform'>Checking your browser</div></body></html>")
    install(server, "/challenge.html", lambda r: r.server_ref.send(
        r, 200, challenge, {"Content-Type": "text/html"}))
    result = fetch(server, "/challenge.html")
    assert (result.outcome, result.status, result.reason) == (
        "failed", 200, "bot-check page instead of content")


def test_etag_round_trip_gives_304(server):
    first = fetch(server, "/ok.html")

    async def again():
        fetcher = Fetcher(FetchConfig(base_url=server.base_url))
        try:
            return await fetcher.fetch("/ok.html", {"If-None-Match": first.headers["etag"]})
        finally:
            await fetcher.aclose()

    second = asyncio.run(again())
    assert (first.outcome, second.outcome, second.status) == ("ok", "not_modified", 304)
    assert server.requests[-1] == ("/ok.html", 304, 0)


def test_robots_txt_is_honoured(server):
    result = fetch(server, "/private/secret.html")
    assert (result.outcome, result.reason) == ("failed", "disallowed by robots.txt")


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("soon") is None
