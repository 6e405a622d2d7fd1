"""HTTP for the scraper, and nothing else: the only module that touches the network.

Polite by construction: a host allowlist that redirects cannot escape, robots.txt,
a descriptive User-Agent, bounded concurrency with a per-host rate limit, timeouts,
retries with backoff that honour Retry-After, a response size cap, conditional
requests, and bot-check/empty-page detection. Bounded by construction too: every
request has a total deadline (connect, headers and body together), bodies are decoded
within their cap, and a host that keeps answering 429/503 trips a circuit breaker
instead of being waited on. Every outcome is a `FetchResult` with a named reason;
nothing here raises for a bad page.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from catalog.urls import PUBLIC_BASE
from pipeline.fetch.blocked import blocked_reason
from pipeline.fetch.body import ACCEPT_ENCODING, BodyTooLarge, UnsupportedEncoding, read_capped
from pipeline.fetch.pacing import RateLimiter, retry_after_seconds
from pipeline.fetch.robots import (
    MAX_ROBOTS_BYTES,
    RobotsPolicy,
    disallow_all,
    policy_for_status,
    policy_from_body,
)

USER_AGENT = ("veeam-perms/0.1 (+https://github.com/veeam-perms/veeam-perms; documentation "
              "permission catalog; polite crawler)")
RETRYABLE = {429, 500, 502, 503, 504}
THROTTLING = {429, 503}


@dataclass
class FetchConfig:
    base_url: str = PUBLIC_BASE
    concurrency: int = 4
    per_host_per_second: float = 2.0
    timeout: float = 20.0  # one connect or one read
    deadline: float = 60.0  # one page, all attempts and waits included
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 30.0
    max_bytes: int = 5 * 1024 * 1024
    max_robots_bytes: int = MAX_ROBOTS_BYTES
    max_redirects: int = 5
    breaker_after: int = 6  # 429/503 answers in a row from one host open its circuit
    respect_robots: bool = True
    user_agent: str = USER_AGENT
    accept: str = "text/html,*/*;q=0.5"

    @property
    def allowed_hosts(self) -> set[str]:
        return {urlsplit(self.base_url).netloc.lower()}


@dataclass
class FetchResult:
    url: str
    outcome: str  # ok | not_modified | failed | not_fetched (run stopping, nothing asked)
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: str = ""
    reason: str | None = None
    attempts: int = 0
    final_url: str | None = None


class _Failure(Exception):
    def __init__(self, reason: str, retry: bool = False, wait: float | None = None,
                 status: int | None = None):
        super().__init__(reason)
        self.reason, self.retry, self.wait, self.status = reason, retry, wait, status


class Fetcher:
    def __init__(self, config: FetchConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        slots = max(1, config.concurrency)
        # One client (one connection) per concurrency slot: httpcore's pool compares every queued
        # request with every connection, which at concurrency 16 cost about 1 ms per request.
        self._clients = [client] if client else [self._new_client() for _ in range(slots)]
        self._idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for index in range(slots):
            self._idle.put_nowait(self._clients[index % len(self._clients)])
        self._limiter = RateLimiter(config.per_host_per_second)
        self._robots: dict[str, RobotsPolicy] = {}
        self._robots_lock = asyncio.Lock()
        self._throttled: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()  # requests sent, by kind
        self.stopped: str | None = None  # why the run stopped asking (breaker, time budget)

    def _new_client(self) -> httpx.AsyncClient:
        config = self.config
        return httpx.AsyncClient(
            timeout=config.timeout, follow_redirects=False, verify=_tls_context(),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            headers={"User-Agent": config.user_agent, "Accept": config.accept,
                     "Accept-Encoding": ACCEPT_ENCODING})

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def absolute(self, path_or_url: str) -> str:
        return urljoin(self.config.base_url.rstrip("/") + "/", path_or_url)

    def stop(self, reason: str) -> None:
        """Ask nothing more: later fetches return `not_fetched` without a request."""
        self.stopped = self.stopped or reason

    def _note_status(self, host: str, status: int) -> None:
        if status not in THROTTLING:
            self._throttled[host] = 0
            return
        self._throttled[host] += 1
        if self._throttled[host] >= self.config.breaker_after:
            self.stop(f"circuit breaker: {host} answered 429/503 {self._throttled[host]} times in a row")

    async def _robots_policy(self, client: httpx.AsyncClient, origin: str) -> RobotsPolicy:
        known = self._robots.get(origin)
        if known is not None:
            return known
        async with self._robots_lock:
            if origin not in self._robots:
                try:
                    async with asyncio.timeout(self.config.deadline):
                        self._robots[origin] = await self._read_robots(client, origin)
                except TimeoutError:
                    self._robots[origin] = disallow_all(
                        f"gave no complete answer within {self.config.deadline:g} s")
                except httpx.HTTPError as error:
                    self._robots[origin] = disallow_all(f"unreachable ({type(error).__name__})")
            return self._robots[origin]

    async def _read_robots(self, client: httpx.AsyncClient, origin: str) -> RobotsPolicy:
        await self._limiter.wait(urlsplit(origin).netloc)
        self.counts["robots"] += 1
        request = client.build_request("GET", f"{origin}/robots.txt")
        response = await client.send(request, stream=True)
        try:
            decided = policy_for_status(response.status_code)
            if decided is not None:
                return decided
            try:
                body, truncated = await read_capped(response, self.config.max_robots_bytes, truncate=True)
            except UnsupportedEncoding as error:
                return disallow_all(f"unreadable ({error})")
            return policy_from_body(body, truncated)
        finally:
            await response.aclose()

    async def _refusal_by_robots(self, client: httpx.AsyncClient, url: str) -> str | None:
        if not self.config.respect_robots:
            return None
        parts = urlsplit(url)
        policy = await self._robots_policy(client, f"{parts.scheme}://{parts.netloc}")
        if policy.allows(self.config.user_agent, url):
            return None
        return f"disallowed: {policy.refusal}" if policy.refusal else "disallowed by robots.txt"

    async def _body(self, response: httpx.Response) -> bytes:
        try:
            body, _ = await read_capped(response, self.config.max_bytes)
        except (BodyTooLarge, UnsupportedEncoding) as error:
            raise _Failure(str(error)) from error
        except httpx.TimeoutException as error:
            raise _Failure(f"timed out ({type(error).__name__})", retry=True) from error
        except httpx.HTTPError as error:
            raise _Failure(f"truncated body ({error})", retry=True) from error
        return body

    async def _attempt(self, client: httpx.AsyncClient, url: str, validators: dict[str, str],
                       check_page: bool) -> FetchResult:
        for _ in range(self.config.max_redirects + 1):
            host = urlsplit(url).netloc.lower()
            if host not in self.config.allowed_hosts:
                raise _Failure(f"redirect to {host} refused: not on the host allowlist")
            await self._limiter.wait(host)
            request = client.build_request("GET", url, headers=validators)
            self.counts["requests"] += 1
            try:
                response = await client.send(request, stream=True)
            except httpx.TimeoutException as error:
                raise _Failure(f"timed out ({type(error).__name__})", retry=True) from error
            except httpx.HTTPError as error:
                raise _Failure(f"transport error: {error}", retry=True) from error
            try:
                self._note_status(host, response.status_code)
                if response.status_code != 200:
                    await _drain(response)
                if response.status_code == 304:
                    return FetchResult(url, "not_modified", 304, headers=dict(response.headers))
                if response.has_redirect_location:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code in RETRYABLE:
                    raise _Failure(f"HTTP {response.status_code}", retry=True, status=response.status_code,
                                   wait=retry_after_seconds(response.headers.get("retry-after")))
                if response.status_code != 200:
                    raise _Failure(f"HTTP {response.status_code}", status=response.status_code)
                body = await self._body(response)
                reason = blocked_reason(body, response.headers.get("content-type", "")) if check_page else None
                if reason:
                    raise _Failure(reason, status=200)
                return FetchResult(url, "ok", 200, body=body, headers=dict(response.headers))
            finally:
                await response.aclose()
        raise _Failure(f"more than {self.config.max_redirects} redirects")

    async def fetch(self, path_or_url: str, validators: dict[str, str] | None = None,
                    check_page: bool = True) -> FetchResult:
        """One page, or with `check_page` off any resource (a sitemap; a page whose caller tests for a
        bot-check itself, off the event loop)."""
        url = self.absolute(path_or_url)
        client = await self._idle.get()  # the concurrency limit: one request per idle client
        try:
            if self.stopped:
                return FetchResult(url, "not_fetched", reason=self.stopped)
            refusal = await self._refusal_by_robots(client, url)
            if refusal:
                return _failed(url, refusal, 0)
            return await self._with_retries(client, url, validators or {}, check_page)
        finally:
            self._idle.put_nowait(client)

    async def _with_retries(self, client: httpx.AsyncClient, url: str, validators: dict[str, str],
                            check_page: bool) -> FetchResult:
        deadline = time.monotonic() + self.config.deadline
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout_at(_loop_time(deadline)):
                    result = await self._attempt(client, url, validators, check_page)
            except TimeoutError:
                return _failed(url, f"no complete response within the {self.config.deadline:g}-second "
                               "deadline", attempt)
            except _Failure as failure:
                wait = failure.wait if failure.wait is not None else self.config.backoff * 2 ** (attempt - 1)
                wait = min(wait, self.config.max_retry_after)
                if not failure.retry or attempt > self.config.retries or self.stopped or \
                        time.monotonic() + wait >= deadline:
                    return _failed(url, failure.reason, attempt, failure.status)
                await asyncio.sleep(wait)
                continue
            result.attempts, result.fetched_at = attempt, _now()
            result.final_url, result.url = result.url, url
            return result


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client (loading the CA bundle takes ~50 ms each time)."""
    return httpx.create_ssl_context()


async def _drain(response: httpx.Response, cap: int = 64 * 1024) -> None:
    """Read a small unused body (304, redirect, error) so the connection can be reused."""
    try:
        await read_capped(response, cap)
    except (BodyTooLarge, UnsupportedEncoding, httpx.HTTPError):
        pass  # the connection is closed instead


def _loop_time(monotonic_deadline: float) -> float:
    """A `time.monotonic()` deadline on the event loop's clock."""
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic_deadline - time.monotonic())


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _failed(url: str, reason: str, attempts: int, status: int | None = None) -> FetchResult:
    return FetchResult(url, "failed", status, reason=reason, attempts=attempts, fetched_at=_now())
