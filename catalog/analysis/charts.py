"""Small server-rendered SVG charts for the website (no script, no CDN)."""

from __future__ import annotations

from html import escape


def build_timeline(points: list[dict], width: int = 640, height: int = 160) -> str:
    """Bars per build: permissions added (up, green) and removed (down, red) since the build before."""
    if not points:
        return ""
    peak = max(max(p["added"], p["removed"]) for p in points) or 1
    slot = width / len(points)
    middle = height / 2
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height + 30}" width="100%" '
             f'aria-label="Permissions added and removed per build">',
             f'<line x1="0" y1="{middle}" x2="{width}" y2="{middle}" stroke="#888"/>']
    for index, point in enumerate(points):
        x = index * slot + slot * 0.2
        bar = slot * 0.6
        up = (point["added"] / peak) * (middle - 14)
        down = (point["removed"] / peak) * (middle - 14)
        label = f'{point["from"]} → {point["build"]}: +{point["added"]} / -{point["removed"]}'
        parts.append(f'<g><title>{escape(label)}</title>'
                     f'<rect x="{x:.1f}" y="{middle - up:.1f}" width="{bar:.1f}" height="{up:.1f}" fill="#2e7d32"/>'
                     f'<rect x="{x:.1f}" y="{middle:.1f}" width="{bar:.1f}" height="{down:.1f}" fill="#c62828"/>'
                     f'<text x="{x + bar / 2:.1f}" y="{middle - up - 3:.1f}" font-size="11" '
                     f'text-anchor="middle">+{point["added"]}</text>'
                     f'<text x="{x + bar / 2:.1f}" y="{middle + down + 12:.1f}" font-size="11" '
                     f'text-anchor="middle">-{point["removed"]}</text>'
                     f'<text x="{x + bar / 2:.1f}" y="{height + 22}" font-size="11" '
                     f'text-anchor="middle">{escape(point["build"])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def size_sparkline(history: list[dict], width: int = 480, height: int = 90) -> str:
    """Line of an operation's permission-set size over its versions."""
    if not history:
        return ""
    top = max(h["size"] for h in history) or 1
    step = width / max(1, len(history) - 1)
    points = [(index * step if len(history) > 1 else width / 2, height - 12 - (h["size"] / top) * (height - 28))
              for index, h in enumerate(history)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [f'<svg class="chart" role="img" viewBox="-10 0 {width + 20} {height + 8}" width="100%" '
             f'aria-label="Number of permissions over versions">',
             f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{path}"/>']
    for (x, y), h in zip(points, history, strict=True):
        label = f'{h["build"] or "?"} ({h["_first_seen"][:10]}): {h["size"]} permissions'
        parts.append(f'<g><title>{escape(label)}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1565c0"/>'
                     f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="11" text-anchor="middle">{h["size"]}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
