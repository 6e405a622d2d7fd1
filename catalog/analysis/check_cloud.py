"""Azure role definitions and Google Cloud custom roles, judged against what operations need.

Azure: each `permissions` block grants its `actions` minus its `notActions` (and `dataActions`
minus `notDataActions`); names are case-insensitive and `*` matches any run of characters,
slashes included. A needed name is looked for in its own family (actions or dataActions) when
the catalog knows which, else in either. Google Cloud: `includedPermissions` are exact names.
Neither provider publishes an offline list of its operations, so wildcards are not expanded:
the report says so, and how many needed names each one covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.analysis.check_match import Judgement, Patterns, is_wildcard, needed_by, not_expanded_entry

FAMILIES = {"actions": "notActions", "dataActions": "notDataActions"}


@dataclass
class AzureBlock:
    actions: Patterns
    not_actions: Patterns
    data_actions: Patterns
    not_data_actions: Patterns

    def grants(self, family: str) -> Patterns:
        return self.actions if family == "actions" else self.data_actions

    def excludes(self, family: str) -> Patterns:
        return self.not_actions if family == "actions" else self.not_data_actions


@dataclass
class AzureGrant:
    blocks: list[AzureBlock] = field(default_factory=list)

    def parts(self) -> list[AzureGrant]:
        return [self]

    def pattern_lists(self) -> list[Patterns]:
        return [p for b in self.blocks for p in (b.actions, b.not_actions, b.data_actions, b.not_data_actions)]

    def allowed(self, family: str, name: str) -> bool:
        return any(b.grants(family).covers(name) and not b.excludes(family).covers(name) for b in self.blocks)

    def why_not(self, name: str, placement: str | None) -> str | None:
        families = [placement] if placement in FAMILIES else list(FAMILIES)
        if any(self.allowed(family, name) for family in families):
            return None
        if any(b.grants(f).covers(name) for b in self.blocks for f in families):
            return "excluded by " + " or ".join(FAMILIES[f] for f in families)
        other = [f for f in FAMILIES if f not in families and self.allowed(f, name)]
        if other:
            return f"granted under {other[0]}, but it is a {placement} permission"
        return "not granted"


def azure_block(raw: dict, get) -> AzureBlock:
    """A `permissions` entry in any spelling Azure uses (CLI, ARM, Terraform's snake case)."""
    def patterns(*keys):
        value = get(raw, *keys)
        return Patterns(value if isinstance(value, list) else [] if value is None else [value])

    return AzureBlock(patterns("actions", "Actions"), patterns("notActions", "not_actions"),
                      patterns("dataActions", "data_actions"), patterns("notDataActions", "not_data_actions"))


def judge_azure(grant: AzureGrant, needed: dict[str, str | None], where: str) -> Judgement:
    """`needed`: Azure operation name -> its family (actions, dataActions) or None when unknown."""
    from catalog.storage.enrich import enrich

    result = Judgement()
    for name in sorted(needed, key=str.lower):
        reason = grant.why_not(name, needed[name])
        if reason:
            result.missing[name] = reason
    for family in FAMILIES:
        folded = sorted({n.lower() for n, placement in needed.items() if placement in (family, None)})
        for block in grant.blocks:
            for pattern in block.grants(family).written:
                covered = needed_by(pattern, folded)
                if not covered:
                    result.granted_not_needed.append(pattern)
                    if enrich("azure", pattern).risk:
                        result.risky_granted_not_needed.append(pattern)
                if is_wildcard(pattern):
                    result.over_grant.append(not_expanded_entry(
                        pattern, f"{where} ({family})", "no offline list of Azure operations",
                        len(covered)))
    result.granted_not_needed = sorted(set(result.granted_not_needed), key=str.lower)
    result.risky_granted_not_needed = sorted(set(result.risky_granted_not_needed), key=str.lower)
    return result


@dataclass
class GcpGrant:
    permissions: Patterns

    def parts(self) -> list[GcpGrant]:
        return [self]

    def pattern_lists(self) -> list[Patterns]:
        return [self.permissions]


def judge_gcp(grant: GcpGrant, needed: list[str], where: str) -> Judgement:
    from catalog.storage.enrich import enrich

    result = Judgement()
    for name in sorted(needed):
        if not grant.permissions.covers(name):
            result.missing[name] = "not granted"
    names = sorted(set(needed))
    for permission in grant.permissions.written:
        if is_wildcard(permission):  # it grants nothing: Google Cloud refuses such a role
            result.over_grant.append(not_expanded_entry(
                permission, where, "Google Cloud custom roles take exact permission names: a wildcard grants "
                "nothing (Google Cloud refuses the role)", 0))
            continue
        if not needed_by(permission, names, fold=str):
            result.granted_not_needed.append(permission)
            if enrich("gcp", permission).risk:
                result.risky_granted_not_needed.append(permission)
    result.granted_not_needed = sorted(set(result.granted_not_needed))
    result.risky_granted_not_needed = sorted(set(result.risky_granted_not_needed))
    return result
