"""`check --format sarif`: SARIF 2.1.0 for GitHub code scanning.

One `error` result per missing permission (at the last point checked), located at the principal
in the input file; a `warning` per wildcard that grants more than needed; a `note` per principal
that could not be evaluated. Fingerprints are stable across runs, so code scanning tracks a
finding from one pull request to the next instead of opening a new alert each time.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath
from urllib.parse import quote

from catalog.analysis.check import Checked

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES = [
    ("missing-permission", "MissingPermission", "error",
     "A permission the chosen Veeam operations need is not granted",
     "The principal does not grant a permission that Veeam documents as required for the chosen operations at "
     "this build. Grant it (see `veeam-perms policy`), or check a range of builds with `--builds`."),
    ("over-grant", "WildcardOverGrant", "warning",
     "A wildcard grants more than the chosen Veeam operations need",
     "The wildcard grants actions no chosen operation needs. Replace it with the actions listed by "
     "`veeam-perms policy` for the operations."),
    ("not-evaluated", "NotEvaluated", "note",
     "A principal could not be evaluated",
     "Part of the principal is not in the input (for example a Terraform value known only after apply, or a "
     "managed policy the account export does not contain), so its verdict is incomplete."),
]
RULE_INDEX = {rule[0]: index for index, rule in enumerate(RULES)}


def _uri(path: str) -> str:
    posix = PurePath(path).as_posix()
    return ("file://" + quote(posix)) if posix.startswith("/") else quote(posix)


def _result(rule: str, text: str, item: Checked, key: str) -> dict:
    principal = item.principal
    location = {"artifactLocation": {"uri": _uri(principal.source)}}
    if principal.location:
        location["region"] = {"startLine": principal.location[0], "startColumn": principal.location[1]}
    digest = hashlib.sha256("\0".join((rule, principal.source, principal.name, key)).encode()).hexdigest()
    return {"ruleId": rule, "ruleIndex": RULE_INDEX[rule], "level": RULES[RULE_INDEX[rule]][2],
            "message": {"text": text}, "locations": [{"physicalLocation": location}],
            "partialFingerprints": {"veeamPermsFinding/v1": digest}}


def _results(item: Checked, product: str, operations: str) -> list[dict]:
    principal, verdict = item.principal, item.last
    found = [_result("missing-permission", f"{principal.name} lacks {name}, which {product} {verdict.point} needs "
                     f"for {operations} ({verdict.why_missing.get(name, 'not granted')}).", item, name)
             for name in verdict.missing]
    for entry in verdict.over_grant:
        if entry["expanded"]:
            text = (f"{principal.name}: {entry['pattern']} grants {entry['beyond_need_count']} actions that "
                    f"{operations} do not need, e.g. {', '.join(entry['beyond_need'][:5])}.")
        else:
            text = f"{principal.name}: {entry['pattern']} is a wildcard that was not expanded ({entry['reason']})."
        found.append(_result("over-grant", text, item, entry["pattern"]))
    found += [_result("not-evaluated", f"{principal.name}: {reason}.", item, reason)
              for reason in principal.not_evaluated]
    return found


def report_sarif(product: str, operations: tuple[str, ...], checked: list[Checked], version: str) -> dict:
    scope = "the operations matching " + ", ".join(map(repr, operations))
    rules = [{"id": rule_id, "name": name, "shortDescription": {"text": short}, "fullDescription": {"text": full},
              "defaultConfiguration": {"level": level}, "help": {"text": full}}
             for rule_id, name, level, short, full in RULES]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "veeam-perms", "version": version, "rules": rules}},
        "results": [result for item in checked for result in _results(item, product, scope)],
        "columnKind": "unicodeCodePoints",
    }]}
