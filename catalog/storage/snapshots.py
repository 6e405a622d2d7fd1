"""Raw snapshots: every fetched body kept (zlib, addressed by SHA-256) with its fetch record."""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass

from sqlite_utils import Database

KEPT_HEADERS = ("content-type", "etag", "last-modified", "date", "content-length", "cache-control")


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


def save_fetch(db: Database, run_id: int | None, record: FetchRecord) -> str | None:
    """Store the fetch (and its body once per distinct content); return the snapshot hash."""
    digest = None
    if record.body is not None:
        digest = hashlib.sha256(record.body).hexdigest()
        if not db.execute("select 1 from snapshots where hash = ?", [digest]).fetchone():
            db["snapshots"].insert({"hash": digest, "body": zlib.compress(record.body, 6),
                                    "size": len(record.body),
                                    "content_type": record.headers.get("content-type")})
    headers = {k.lower(): v for k, v in record.headers.items() if k.lower() in KEPT_HEADERS}
    db["fetches"].insert({
        "run": run_id, "url": record.url, "fetched_url": record.fetched_url,
        "outcome": record.outcome, "status": record.status, "reason": record.reason,
        "attempts": record.attempts, "headers": json.dumps(headers, sort_keys=True),
        "etag": headers.get("etag"), "last_modified": headers.get("last-modified"),
        "snapshot": digest, "fetched_at": record.fetched_at})
    return digest


def validators_for(db: Database, url: str) -> dict[str, str]:
    """Conditional request headers from the last successful fetch of `url`."""
    if not db["fetches"].exists():
        return {}
    row = db.execute("select etag, last_modified from fetches where url = ? and outcome = 'ok' "
                     "order by id desc limit 1", [url]).fetchone()
    if not row:
        return {}
    headers = {}
    if row[0]:
        headers["If-None-Match"] = row[0]
    if row[1]:
        headers["If-Modified-Since"] = row[1]
    return headers


def iter_snapshots(db: Database):
    """(url, fetched_at, snapshot hash, body) of every successful fetch, oldest first."""
    for url, fetched_at, digest, body in db.execute(
            "select f.url, f.fetched_at, f.snapshot, s.body from fetches f join snapshots s "
            "on s.hash = f.snapshot where f.outcome = 'ok' order by f.id"):
        yield url, fetched_at, digest, zlib.decompress(body)


def last_snapshot(db: Database, url: str) -> bytes | None:
    row = db.execute("select s.body from fetches f join snapshots s on s.hash = f.snapshot "
                     "where f.url = ? and f.outcome = 'ok' order by f.id desc limit 1", [url]).fetchone()
    return zlib.decompress(row[0]) if row else None
