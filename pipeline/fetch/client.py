"""HTTP for the scraper, and nothing else: the only module that touches the network.

Polite by construction: a host allowlist that redirects cannot escape, robots.txt,
a descriptive User-Agent, bounded concurrency with a per-host rate limit, timeouts,
retries with backoff that honour Retry-After, a response size cap, conditional
requests, and bot-check/empty-page detection. Every outcome is a `FetchResult` with a
named reason; nothing here raises for a bad page.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
import urllib.robotparser
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.fetch.blocked import blocked_reason

USER_AGENT = ("veeam-perms/0.1 (+https://github.com/veeam-perms/veeam-perms; documentation "
              "permission catalog; polite crawler)")
RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class FetchConfig:
    base_url: str = "https://helpcenter.veeam.com"
    concurrency: int = 4
    per_host_per_second: float = 2.0
    timeout: float = 20.0
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 60.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    respect_robots: bool = True
    user_agent: str = USER_AGENT

    @property
    def allowed_hosts(self) -> set[str]:
        return {urlsplit(self.base_url).netloc.lower()}


@dataclass
class FetchResult:
    url: str
    outcome: str  # ok | not_modified | failed
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


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date in the future."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class _RateLimiter:
    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, host: str) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


class Fetcher:
    def __init__(self, config: FetchConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client or httpx.AsyncClient(
            timeout=config.timeout, follow_redirects=False,
            headers={"User-Agent": config.user_agent, "Accept": "text/html,*/*;q=0.5"})
        self._limiter = _RateLimiter(config.per_host_per_second)
        self._semaphore = asyncio.Semaphore(max(1, config.concurrency))
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    def absolute(self, path_or_url: str) -> str:
        return urljoin(self.config.base_url.rstrip("/") + "/", path_or_url)

    async def _allowed_by_robots(self, url: str) -> bool:
        if not self.config.respect_robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            parser = urllib.robotparser.RobotFileParser()
            try:
                await self._limiter.wait(parts.netloc)
                response = await self._client.get(f"{origin}/robots.txt")
                lines = response.text.splitlines() if response.status_code == 200 else []
            except httpx.HTTPError:
                lines = []  # no robots.txt reachable: the site states no rule
            parser.parse(lines)
            self._robots[origin] = parser
        return self._robots[origin].can_fetch(self.config.user_agent, url)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.config.max_bytes:
            raise _Failure(f"body of {int(declared):,} bytes is over the {self.config.max_bytes:,}-byte cap")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.config.max_bytes:
                raise _Failure(f"body is over the {self.config.max_bytes:,}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _attempt(self, url: str, validators: dict[str, str]) -> FetchResult:
        for _ in range(self.config.max_redirects + 1):
            host = urlsplit(url).netloc.lower()
            if host not in self.config.allowed_hosts:
                raise _Failure(f"redirect to {host} refused: not on the host allowlist")
            await self._limiter.wait(host)
            request = self._client.build_request("GET", url, headers=validators)
            try:
                response = await self._client.send(request, stream=True)
            except httpx.TimeoutException as error:
                raise _Failure(f"timed out ({type(error).__name__})", retry=True) from error
            except httpx.HTTPError as error:
                raise _Failure(f"transport error: {error}", retry=True) from error
            try:
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
                try:
                    body = await self._read_capped(response)
                except httpx.HTTPError as error:
                    raise _Failure(f"truncated body ({error})", retry=True) from error
                reason = blocked_reason(body, response.headers.get("content-type", ""))
                if reason:
                    raise _Failure(reason, status=200)
                return FetchResult(url, "ok", 200, body=body, headers=dict(response.headers))
            finally:
                await response.aclose()
        raise _Failure(f"more than {self.config.max_redirects} redirects")

    async def fetch(self, path_or_url: str, validators: dict[str, str] | None = None) -> FetchResult:
        url = self.absolute(path_or_url)
        async with self._semaphore:
            if not await self._allowed_by_robots(url):
                return _failed(url, "disallowed by robots.txt", 0)
            attempt = 0
            while True:
                attempt += 1
                try:
                    result = await self._attempt(url, validators or {})
                except _Failure as failure:
                    if not failure.retry or attempt > self.config.retries:
                        return _failed(url, failure.reason, attempt, failure.status)
                    wait = failure.wait if failure.wait is not None else \
                        self.config.backoff * 2 ** (attempt - 1)
                    await asyncio.sleep(min(wait, self.config.max_retry_after))
                    continue
                result.attempts, result.fetched_at = attempt, _now()
                result.final_url, result.url = result.url, url
                return result

    async def fetch_many(self, items: Iterable[tuple[str, dict[str, str]]],
                         on_result: Callable[[FetchResult], Awaitable[None] | None]) -> None:
        async def one(path: str, validators: dict[str, str]) -> None:
            outcome = on_result(await self.fetch(path, validators))
            if asyncio.iscoroutine(outcome):
                await outcome

        await asyncio.gather(*(one(path, validators) for path, validators in items))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _failed(url: str, reason: str, attempts: int, status: int | None = None) -> FetchResult:
    return FetchResult(url, "failed", status, reason=reason, attempts=attempts, fetched_at=_now())
