"""Fetch some paths in a fresh process and report outcomes, time and peak memory (VmHWM) as JSON.

Run by tests/test_scrape_bounds.py: a separate process measures the fetcher's own peak RSS,
with no tracing slowing it down. Usage: python tests/support/fetch_probe.py BASE_URL CONFIG_JSON PATH...
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.fetch.client import FetchConfig, Fetcher  # noqa: E402


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return -1.0


async def probe(base_url: str, config: dict, paths: list[str]) -> list[dict]:
    fetcher = Fetcher(FetchConfig(base_url=base_url, **config))
    results = []
    try:
        for path in paths:
            start = time.monotonic()
            result = await fetcher.fetch(path)
            results.append({"path": path, "outcome": result.outcome, "reason": result.reason,
                            "size": len(result.body or b""), "seconds": time.monotonic() - start})
    finally:
        await fetcher.aclose()
    return results


if __name__ == "__main__":
    base, config, *paths = sys.argv[1:]
    found = asyncio.run(probe(base, json.loads(config), paths))
    print(json.dumps({"results": found, "peak_rss_mb": peak_rss_mb()}))
