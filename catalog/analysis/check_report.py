"""`check`'s answers as text (one block per principal, missing first, risky marked) and JSON.

The JSON fields are stable (README, "Checking what is granted"): per principal `principal`,
`source`, `kind`, `provider`, `location`, `verdict`, `point`, `missing`, `why_missing`,
`optional_missing`, `granted_not_needed`, `over_grant`, `risky_required`,
`risky_granted_not_needed`, `not_evaluated`, `notes`, and under `--builds` also `builds`,
`covers_through`, `next_build`, `next_adds`.
"""

from __future__ import annotations

from catalog.analysis.check import Checked

SHOWN = 10  # names listed per wildcard in text; JSON lists up to check_match.SHOWN_BEYOND_NEED


def principal_json(item: Checked, with_builds: bool) -> dict:
    principal, verdict = item.principal, item.last
    record = {
        "principal": principal.name, "source": principal.source, "kind": principal.kind,
        "provider": principal.provider,
        "location": {"line": principal.location[0], "column": principal.location[1]} if principal.location else None,
        "verdict": verdict.status, "point": verdict.point, "missing": verdict.missing,
        "why_missing": verdict.why_missing, "optional_missing": verdict.optional_missing,
        "granted_not_needed": verdict.granted_not_needed, "over_grant": verdict.over_grant,
        "risky_required": verdict.risky_required, "risky_granted_not_needed": verdict.risky_granted_not_needed,
        "not_evaluated": principal.not_evaluated, "notes": principal.notes + verdict.notes,
    }
    if with_builds:
        record["builds"] = [{"build": v.point, "verdict": v.status, "missing": v.missing} for v in item.verdicts]
        record |= {"covers_through": item.covers_through, "next_build": item.next_point,
                   "next_adds": item.next_adds}
    return record


def report_json(product: str, operations: tuple[str, ...], checked: list[Checked], with_builds: bool) -> dict:
    points = [v.point for v in checked[0].verdicts] if checked else []
    return {"product": product, "operations": list(operations), "points": points,
            "ok": not any(item.failed for item in checked),
            "principals": [principal_json(item, with_builds) for item in checked]}


def _where(item: Checked) -> str:
    principal = item.principal
    place = f"{principal.source}:{principal.location[0]}:{principal.location[1]}" if principal.location \
        else principal.source
    return f"{principal.name} ({principal.kind}, {place})"


def _over_grant_line(entry: dict) -> str:
    if not entry["expanded"]:
        return f"  * {entry['pattern']} in {entry['in']}: not expanded ({entry['reason']}); " \
               f"covers {entry['covers_needed']} needed"
    names = entry["beyond_need"][:SHOWN]
    more = entry["beyond_need_count"] - len(names)
    return (f"  * {entry['pattern']} in {entry['in']} grants {entry['grants']} actions, "
            f"{entry['beyond_need_count']} not needed: {', '.join(names)}{f' … and {more} more' if more else ''}")


def _verdict_lines(item: Checked) -> list[str]:
    verdict = item.last
    risky = set(verdict.risky_required)
    lines = [f"Missing ({len(verdict.missing)}):"]
    lines += [f"  {'!' if name in risky else '-'} {name}{'  [risky]' if name in risky else ''}  "
              f"({verdict.why_missing.get(name, 'not granted')})" for name in verdict.missing]
    if verdict.optional_missing:
        lines.append(f"Optional, not granted ({len(verdict.optional_missing)}): {', '.join(verdict.optional_missing)}")
    lines += [f"Granted but not needed ({len(verdict.granted_not_needed)}):",
              *(f"  + {name}" for name in verdict.granted_not_needed),
              f"Risky permissions required ({len(verdict.risky_required)}):",
              *(f"  ! {name}" for name in verdict.risky_required)]
    if verdict.risky_granted_not_needed:
        lines += ["Risky grants that are not needed:", *(f"  !! {n}" for n in verdict.risky_granted_not_needed)]
    if verdict.over_grant:
        lines += [f"Wildcards granting more than needed ({len(verdict.over_grant)}):",
                  *map(_over_grant_line, verdict.over_grant)]
    return lines


def _coverage_lines(item: Checked) -> list[str]:
    width = max(len(v.point) for v in item.verdicts)
    lines = ["Builds:"]
    for verdict in item.verdicts:
        shown = ", ".join(verdict.missing[:SHOWN]) + (" …" if len(verdict.missing) > SHOWN else "")
        detail = f": {len(verdict.missing)} missing ({shown})" if verdict.missing else ""
        lines.append(f"  {verdict.point.ljust(width)}  {verdict.status}{detail}")
    if item.covers_through is None:
        lines.append("Covers none of these builds.")
    elif item.next_point is None:
        lines.append(f"Covers through {item.covers_through}, the last build checked.")
    else:
        adds = item.next_adds or []
        lines.append(f"Covers through {item.covers_through}; {item.next_point} adds {len(adds)} (as `veeam-perms "
                     f"upgrade --from {item.covers_through} --to {item.next_point}` says):")
        for row in adds:
            risk = f"  [risk: {row['risk']}]" if row["risk"] else ""
            lines.append(f"  {'!' if row['risk'] else '+'} {row['permission']}{risk}{' (optional)' * row['optional']}")
    return lines


def _closing(item: Checked) -> str:
    verdict = item.last
    if verdict.status == "enough":
        return "OK: nothing required is missing."
    if verdict.status == "not enough":
        count = len(verdict.missing)
        return f"NOT ENOUGH: {count} required permission{' is' if count == 1 else 's are'} missing."
    if verdict.status == "not evaluated":
        return "NOT EVALUATED: " + "; ".join(item.principal.not_evaluated or ["nothing could be read"])
    return "NOT APPLICABLE: " + "; ".join(verdict.notes)


def format_report(product: str, checked: list[Checked], with_builds: bool) -> str:
    blocks = []
    for item in checked:
        lines = [f"== {_where(item)} at {item.last.point}"]
        evaluated = item.last.status in ("enough", "not enough")
        body = _verdict_lines(item) if evaluated else []
        body += [f"Not evaluated: {reason}" for reason in item.principal.not_evaluated if evaluated]
        body += [f"Note: {note}" for note in dict.fromkeys(item.principal.notes + item.last.notes)]
        if with_builds and any(v.status in ("enough", "not enough") for v in item.verdicts):
            body += _coverage_lines(item)
        lines += [f"  {line}" for line in body]
        lines.append(_closing(item))
        blocks.append("\n".join(lines))
    counts: dict[str, int] = {}
    for item in checked:
        status = "not enough" if item.failed else item.last.status
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    blocks.append(f"{product}: {len(checked)} principal{'s' * (len(checked) != 1)} checked ({summary}).")
    return "\n\n".join(blocks)
