"""Small server-rendered SVG charts for the website (no script, no CDN).

Each chart has labelled axes and draws its points left to right in the order of the table
printed under it (oldest first).
"""

from __future__ import annotations

from html import escape

LEFT, BOTTOM = 46, 34  # room for the y-axis label and ticks, and for the x labels and axis title


def _axes(width: int, height: int, x_title: str, y_title: str, top_value: int, middle: float | None) -> list[str]:
    """Axis lines, titles and the top (and zero) tick of the y axis."""
    parts = [f'<line x1="{LEFT}" y1="4" x2="{LEFT}" y2="{height}" stroke="#555"/>',
             f'<text x="12" y="{height / 2:.0f}" font-size="11" text-anchor="middle" '
             f'transform="rotate(-90 12 {height / 2:.0f})" class="axis-title">{escape(y_title)}</text>',
             f'<text x="{LEFT + (width - LEFT) / 2:.0f}" y="{height + BOTTOM - 2}" font-size="11" '
             f'text-anchor="middle" class="axis-title">{escape(x_title)}</text>',
             f'<text x="{LEFT - 4}" y="14" font-size="10" text-anchor="end">{top_value}</text>']
    baseline = middle if middle is not None else height
    parts.append(f'<line x1="{LEFT}" y1="{baseline:.1f}" x2="{width}" y2="{baseline:.1f}" stroke="#555"/>')
    parts.append(f'<text x="{LEFT - 4}" y="{baseline + 4:.1f}" font-size="10" text-anchor="end">0</text>')
    return parts


def build_timeline(points: list[dict], width: int = 640, height: int = 160) -> str:
    """Bars per build, oldest first: permissions added (up, green) and removed (down, red) since
    the build before."""
    if not points:
        return ""
    peak = max(max(p["added"], p["removed"]) for p in points) or 1
    slot = (width - LEFT) / len(points)
    middle = height / 2
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height + BOTTOM}" width="100%" '
             f'aria-label="Permissions added (above the axis) and removed (below) per build, oldest first">',
             *_axes(width, height, "Build (oldest first)", "Permissions ±", peak, middle)]
    for index, point in enumerate(points):
        x = LEFT + index * slot + slot * 0.2
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
                     f'<text x="{x + bar / 2:.1f}" y="{height + 14}" font-size="11" '
                     f'text-anchor="middle" class="x-label">{escape(point["build"])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def size_sparkline(history: list[dict], width: int = 480, height: int = 90) -> str:
    """Line of an operation's permission-set size over its versions, oldest first."""
    if not history:
        return ""
    top = max(h["size"] for h in history) or 1
    span = width - LEFT - 60  # the last x label is centred on its point
    step = span / max(1, len(history) - 1)
    points = [(LEFT + 10 + (index * step if len(history) > 1 else span / 2),
               height - 4 - (h["size"] / top) * (height - 24)) for index, h in enumerate(history)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height + BOTTOM}" width="100%" '
             f'aria-label="Number of permissions per version, oldest first">',
             *_axes(width, height, "Version: build, or date first seen (oldest first)", "Permissions", top, None),
             f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{path}"/>']
    for (x, y), h in zip(points, history, strict=True):
        label = f'{h["build"] or "?"} ({h["first_seen"][:10]}): {h["size"]} permissions'
        parts.append(f'<g><title>{escape(label)}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1565c0"/>'
                     f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="11" text-anchor="middle">{h["size"]}</text>'
                     f'<text x="{x:.1f}" y="{height + 14}" font-size="10" text-anchor="middle" '
                     f'class="x-label">{escape(h["build"] or h["first_seen"][:10])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
