"""A synthetic helpcenter: N products x M releases x K pages of dump Markdown with permission churn.

Our own generator (no upstream text): page prose is neutral filler, permission names are
drawn from a fixed pool of real AWS action names, and each release adds and removes a
few actions per page the way real pages drift between builds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ACTIONS = [f"{service}:{verb}{noun}" for service, verbs, nouns in (
    ("ec2", ("Describe", "Create", "Delete", "Modify"), ("Instances", "Snapshots", "Volumes", "Vpcs",
                                                       "Subnets", "Tags", "SecurityGroups", "Images")),
    ("s3", ("Get", "Put", "Delete", "List"), ("Object", "Bucket", "BucketPolicy", "BucketVersioning")),
    ("iam", ("Get", "Create", "Delete", "List"), ("Role", "Policy", "InstanceProfile", "PolicyVersion")),
    ("kms", ("Describe", "Create", "List"), ("Key", "Grant", "Aliases")),
) for verb in verbs for noun in nouns]


@dataclass
class Release:
    label: str
    build: str
    date: str  # M/D/YYYY


def releases(count: int) -> list[Release]:
    return [Release(str(9 + i), f"{9 + i}.0.{i}.{100 + 7 * i}", f"{1 + i % 12}/15/{2024 + i // 12}")
            for i in range(count)]


def page_markdown(product: str, slug: str, release: Release, actions: list[str], current: bool) -> str:
    url = f"https://helpcenter.veeam.com/docs/{product}/guide/{slug}.html"
    if not current:
        url += f"?ver={release.label}"
    half = max(1, len(actions) // 2)
    quoted = [", ".join(f'"{a}"' for a in part) for part in (actions[:half], actions[half:] or actions[:1])]
    policies = "\n\n".join(
        f"![](//img.veeam.com/helpcenter/baggage/arrow_next.svg)List of permissions to {task}\n\n"
        "|  |  |\n| --- | --- |\n"
        f'| |  | | --- | | {{ "Version": "2012-10-17", "Statement": [ {{ "Effect": "Allow", '
        f'"Action": [ {names} ], "Resource": "\\*" }} ] }} | |'
        for task, names in zip(("perform the first task", "perform the second task"), quoted, strict=True))
    return (f'---\ntitle: "Synthetic {slug}"\nproduct: "{product}"\ndoc_type: "guide"\n'
            f'source_url: "{url}"\nlast_updated: "{release.date}"\nproduct_version: "{release.build}"\n'
            f"---\n\n# Synthetic {slug}\n\n\nGenerated page for benchmarks.\n\nIAM User Permissions\n\n"
            "* The IAM user must have the following permissions:\n\n"
            f"{policies}\n")


def generate(products: int, release_count: int, pages: int, seed: int = 7,
             history: bool = True) -> dict[str, list[tuple[Release, str]]]:
    """{file name: [(release, markdown), ...]} in release order, with churn between releases."""
    rng = random.Random(seed)
    result: dict[str, list[tuple[Release, str]]] = {}
    chain = releases(release_count)
    for p in range(products):
        product = f"vbsyn{p}"
        for k in range(pages):
            slug = f"permissions_{k:04d}"
            actions = sorted(rng.sample(ACTIONS, rng.randint(6, 24)))
            versions = []
            for number, release in enumerate(chain):
                if number:
                    removed = set(rng.sample(actions, min(len(actions) - 2, rng.randint(0, 2))))
                    added = set(rng.sample(ACTIONS, rng.randint(0, 3)))
                    actions = sorted((set(actions) - removed) | added)
                versions.append((release, page_markdown(product, slug, release, actions, current=True)))
            result[f"{product}/{slug}.md"] = versions if history else versions[-1:]
    return result


def site_pages(count: int, seed: int = 7) -> dict[str, str]:
    """`count` current pages of one product: name -> Markdown (for sitegen)."""
    pages = generate(1, 1, count, seed)
    return {name.replace("/", "_"): versions[-1][1] for name, versions in pages.items()}
