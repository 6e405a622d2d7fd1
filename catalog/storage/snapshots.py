"""Raw snapshots: every fetched body kept (zlib, addressed by SHA-256) with its fetch record.

A fetch also records which representation it got (`source_kind`: "md" for Veeam's Markdown
twin of a page, "html" for the page) and the sitemap `lastmod` it was made under, so a later
run can skip a page whose `lastmod` did not change and `reparse` knows how to read each body.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

KEPT_HEADERS = ("content-type", "etag", "last-modified", "date", "content-length", "cache-control")
_FETCH_COLUMNS = ("run", "url", "fetched_url", "outcome", "status", "reason", "attempts", "headers",
                  "etag", "last_modified", "snapshot", "fetched_at", "source_kind", "lastmod")


@dataclass(frozen=True)
class PackedBody:
    """A body as stored: its SHA-256 and its zlib form (the scraper makes these off the event loop)."""
    digest: str
    compressed: bytes


def pack_body(body: bytes) -> PackedBody:
    # Level 1: on helpcenter-sized pages it is twice as fast as the default and ~3 % larger.
    return PackedBody(hashlib.sha256(body).hexdigest(), zlib.compress(body, 1))


@dataclass(frozen=True)
class FetchRecord:
    url: str  # the public helpcenter URL
    fetched_url: str
    outcome: str
    status: int | None
    reason: str | None
    attempts: int
    headers: dict[str, str]
    fetched_at: str
    body: bytes | None = None
    source_kind: str | None = None  # "md" | "html"
    lastmod: str | None = None
    packed: PackedBody | None = None  # pack_body(body), when already made


def save_fetch(db: Database, run_id: int | None, record: FetchRecord) -> str | None:
    """Store the fetch (and its body once per distinct content); return the snapshot hash."""
    return save_fetches(db, run_id, [record])[0]


def save_fetches(db: Database, run_id: int | None, records: Iterable[FetchRecord]) -> list[str | None]:
    """Store many fetches with two statements (the scraper writes a batch at a time)."""
    digests, bodies, rows = [], {}, []
    for record in records:
        digest = _packed(record).digest if record.body is not None else None
        if digest and digest not in bodies:
            bodies[digest] = record
        headers = {k.lower(): v for k, v in record.headers.items() if k.lower() in KEPT_HEADERS}
        rows.append((run_id, record.url, record.fetched_url, record.outcome, record.status, record.reason,
                     record.attempts, json.dumps(headers, sort_keys=True), headers.get("etag"),
                     headers.get("last-modified"), digest, record.fetched_at, record.source_kind,
                     record.lastmod))
        digests.append(digest)
    if bodies:
        known = {row[0] for row in db.execute(
            f"select hash from snapshots where hash in ({','.join('?' * len(bodies))})", list(bodies))}
        db.conn.executemany(
            "insert into snapshots (hash, body, size, content_type) values (?, ?, ?, ?)",
            [(digest, _packed(r).compressed, len(r.body),
              {k.lower(): v for k, v in r.headers.items()}.get("content-type"))
             for digest, r in bodies.items() if digest not in known])
    db.conn.executemany(f"insert into fetches ({', '.join(_FETCH_COLUMNS)}) values "
                        f"({', '.join('?' * len(_FETCH_COLUMNS))})", rows)
    return digests


def _packed(record: FetchRecord) -> PackedBody:
    return record.packed or pack_body(record.body or b"")


def all_validators(db: Database) -> dict[tuple[str, str], dict[str, str]]:
    """Conditional request headers of every (url, kind) from its last successful fetch, all at
    once: a run asks each page once, and a query per page cost the fetch loop ~0.14 ms of its
    ~3 ms a page at concurrency 16."""
    return {(url, kind): _conditional(etag, modified) for url, kind, etag, modified in db.execute(
        "select f.url, coalesce(f.source_kind, 'html'), f.etag, f.last_modified from fetches f join ("
        " select max(id) as id from fetches where outcome = 'ok' group by url, coalesce(source_kind, 'html')"
        ") latest on latest.id = f.id")}


def _conditional(etag: str | None, modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    return headers


def last_lastmod(db: Database, url: str, since: str = "") -> str | None:
    """The sitemap `lastmod` under which `url` was last fetched or confirmed unchanged (at `since` or later)."""
    row = db.execute("select lastmod from fetches where url = ? and outcome in ('ok', 'not_modified') "
                     "and fetched_at >= ? order by id desc limit 1", [url, since]).fetchone()
    return row[0] if row else None


# A stored body inflates to at most this much: above the scraper's 5 MB fetch cap and the parsers'
# 20 MB page limit, so only a damaged or hostile catalog file is refused by it.
MAX_SNAPSHOT_BYTES = 24 * 1024 * 1024


def inflate(blob: bytes) -> bytes | None:
    """A stored body, or None when it is corrupt or inflates past `MAX_SNAPSHOT_BYTES` (a catalog
    handed to `reparse` comes from outside: a zlib bomb must not take the memory)."""
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(blob, MAX_SNAPSHOT_BYTES + 1)
    except zlib.error:
        return None
    return body if len(body) <= MAX_SNAPSHOT_BYTES and inflater.eof else None


def iter_snapshot_kinds(db: Database):
    """(url, fetched_at, snapshot hash, body or None (see `inflate`), source kind) of every
    successful fetch, oldest first."""
    for url, fetched_at, digest, body, kind in db.execute(
            "select f.url, f.fetched_at, f.snapshot, s.body, coalesce(f.source_kind, 'html') from fetches f "
            "join snapshots s on s.hash = f.snapshot where f.outcome = 'ok' order by f.id"):
        yield url, fetched_at, digest, inflate(body), kind


def last_snapshot_blob(db: Database, url: str) -> tuple[bytes, str] | None:
    """The stored (compressed; see `inflate`) body of the last successful fetch of `url` and its
    source kind, or None."""
    row = db.execute("select s.body, coalesce(f.source_kind, 'html') from fetches f join snapshots s "
                     "on s.hash = f.snapshot where f.url = ? and f.outcome = 'ok' order by f.id desc limit 1",
                     [url]).fetchone()
    return (row[0], row[1]) if row else None


def remembered_sources(db: Database, since: str) -> dict[str, str]:
    """Each product's negotiated source kind, when it was decided at `since` or later."""
    return {product: kind for product, kind in db.execute(
        "select product, kind from product_sources where checked_at >= ?", [since])}


def remember_sources(db: Database, kinds: dict[str, str], checked_at: str) -> None:
    db.conn.executemany("insert or replace into product_sources (product, kind, checked_at) values (?, ?, ?)",
                        [(product, kind, checked_at) for product, kind in sorted(kinds.items())])
