"""Render changes: text, Markdown (a changelog fit for a release or PR body), JSON and Atom."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from itertools import groupby

from catalog.analysis.diff import Change
from catalog.analysis.untrusted import markdown_code, markdown_text, markdown_url, xml_text
from catalog.model import display_label

ATOM = "http://www.w3.org/2005/Atom"
_VERBS = {"added": "+", "removed": "-", "changed": "~", "renamed": ">"}


def _line(change: Change, markdown: bool) -> str:
    code = markdown_code if markdown else (lambda text: text)
    plain = markdown_text if markdown else (lambda text: text)
    if change.change == "renamed":
        return f"renamed {code(change.from_)} to {code(change.to)}"
    # In Markdown a leading "+ " or "- " would start a nested list and lose the sign: use words.
    text = f"{change.change if markdown else _VERBS[change.change]} {code(change.permission)}"
    if change.change == "changed":
        text += f": {plain(change.from_)} {plain('->')} {plain(change.to)}"
    if change.risk and change.change != "removed":
        text += f" (risk: {change.risk})"
    if change.operation_change:
        text += f" [operation {change.operation_change}]"
    return text


def _operations(group: list[Change]):
    """Changes by operation, told apart by key; each shown as "Section › Title"."""
    for _, items in groupby(group, key=lambda c: c.key or c.operation):
        items = list(items)
        yield display_label(items[0].section, items[0].operation), items


def _by_version(changes: list[Change]):
    key = lambda c: (c.page, c.first_seen or "", c.from_build or "", c.to_build or "")  # noqa: E731
    for (page, observed, from_build, to_build), group in groupby(sorted(changes, key=key), key=key):
        yield page, observed, from_build, to_build, list(group)


def _builds(from_build: str | None, to_build: str | None, kind: str) -> str:
    if kind == "correction" and not to_build:
        return "dated change (the page states no build)"
    if kind == "correction":
        return f"correction within build {to_build}"
    return f"build {from_build or '(none)'} -> {to_build or '(none)'}"


def format_text(changes: list[Change]) -> str:
    lines = []
    for page, observed, from_build, to_build, group in _by_version(changes):
        lines.append(f"{page} ({_builds(from_build, to_build, group[0].kind)}, seen {observed or '?'})")
        for operation, items in _operations(group):
            lines.append(f"  {operation}")
            lines.extend(f"    {_line(item, False)}" for item in items)
    return "\n".join(lines) if lines else "no permission changes"


def _page_link(url: str) -> str:
    return f"[{markdown_text(url.rsplit('/', 1)[-1])}]({markdown_url(url)})"


def format_markdown(changes: list[Change], title: str, products: dict[str, str],
                    new_pages: list[tuple[str, str, str | None, int]] = ()) -> str:
    """The changelog in Markdown (a pull request body): every piece of page text is written as
    literal text (untrusted.markdown_text/markdown_code), so no page can mention, link or embed."""
    lines = [f"# {title}", ""]
    if new_pages:
        lines += ["## Newly catalogued permission pages", ""]
        lines += [f"- {_page_link(url)}: {count} permissions, build {markdown_text(build or '?')}, "
                  f"first seen {markdown_text(seen[:10])}" for url, seen, build, count in sorted(new_pages)]
        lines.append("")
    if not changes:
        return "\n".join([*lines, "No permission changes.", ""])
    tree: dict = defaultdict(lambda: defaultdict(list))
    for page, observed, from_build, to_build, group in _by_version(changes):
        product = product_of(page)
        tree[product][_builds(from_build, to_build, group[0].kind)].append((page, observed, group))
    for product in sorted(tree):
        lines += [f"## {markdown_text(products.get(product, product))} ({markdown_code(product)})", ""]
        for builds, pages in tree[product].items():
            lines += [f"### {markdown_text(builds[0].upper() + builds[1:])}", ""]
            for page, observed, group in pages:
                lines.append(f"#### {_page_link(page)} (seen {markdown_text((observed or '?')[:10])})")
                lines.append("")
                for operation, items in _operations(group):
                    lines.append(f"- **{markdown_text(operation)}**")
                    lines.extend(f"  - {_line(item, True)}" for item in items)
                lines.append("")
    return "\n".join(lines)


def format_json(changes: list[Change]) -> str:
    return json.dumps([change.as_json() for change in changes], indent=2, ensure_ascii=False)


def product_of(page: str) -> str:
    from catalog.urls import parse_url

    return parse_url(page).product or "unknown"


def _element(parent, tag: str, text: str | None = None, **attributes: str):
    """An Atom element whose text and attributes hold only characters XML allows."""
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: xml_text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def atom_feed(changes: list[Change], product: str, name: str, feed_url: str, updated: str) -> str:
    """One entry per page version that changed permissions, newest first; well-formed XML whatever
    the pages hold (control characters are removed)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _element(feed, "title", f"{name}: permission changes")
    _element(feed, "id", feed_url)
    _element(feed, "updated", updated)
    _element(feed, "link", href=feed_url, rel="self")
    _element(_element(feed, "author"), "name", "veeam-perms")
    versions = sorted(_by_version(changes), key=lambda item: item[1] or "", reverse=True)
    for page, observed, from_build, to_build, group in versions:
        entry = _element(feed, "entry")
        counts = defaultdict(int)
        for change in group:
            counts[change.change] += 1
        summary = ", ".join(f"{n} {verb}" for verb, n in sorted(counts.items()))
        _element(entry, "title", f"{page.rsplit('/', 1)[-1]}: {summary} "
                                 f"({_builds(from_build, to_build, group[0].kind)})")
        _element(entry, "id", f"{page}#{observed}")
        _element(entry, "updated", observed or updated)
        _element(entry, "link", href=page)
        _element(entry, "content", format_text(group), type="text")
    return ET.tostring(feed, encoding="unicode", xml_declaration=True)
