"""What a permission name looks like, per provider, and its matching key."""

from __future__ import annotations

import re

from catalog.model import Provider

# The action part starts with a letter or a wildcard: "host:27017" is not an action.
AWS_ACTION = re.compile(r"^[a-z0-9][a-z0-9-]*:[A-Za-z*][A-Za-z0-9*?]*$")
AZURE_OPERATION = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*\.[A-Za-z0-9.]+|\*)(?:/[A-Za-z0-9*.{}_-]+)+$")
GCP_PERMISSION = re.compile(r"^[a-z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9]+){2,}$")
# Host names have the shape of GCP permissions; their last label gives them away.
_HOST_SUFFIXES = frozenset(
    "com net org io gov edu us uk de eu cn ru jp local internal windows azure amazonaws html"
    " htm xml json exe dll ps1 zip txt log md".split()
)

# Inside prose: the first name-like token of AWS or Azure form, bounded by non-name characters.
PROSE_AWS = re.compile(r"(?<![\w/.:-])([a-z0-9][a-z0-9-]{1,30}:[A-Z][A-Za-z0-9]*\*?)(?![\w/:-])")
PROSE_AZURE = re.compile(r"(?<![\w/.-])(Microsoft\.[A-Za-z0-9]+(?:/[A-Za-z0-9*.-]+)+)")


def is_gcp_permission(token: str) -> bool:
    return bool(GCP_PERMISSION.match(token)) and token.rsplit(".", 1)[1].lower() not in _HOST_SUFFIXES


def guess_provider(name: str) -> Provider | None:
    if AWS_ACTION.match(name) or name == "*":
        return "aws"
    if AZURE_OPERATION.match(name):
        return "azure"
    if is_gcp_permission(name):
        return "gcp"
    return None


def normalize(provider: Provider, name: str) -> str:
    """AWS actions and Azure operations are case-insensitive; GCP and Graph names are not."""
    if provider in ("aws", "azure"):
        return name.strip().lower()
    return name.strip()


def aws_service(name: str) -> str | None:
    return name.split(":", 1)[0].lower() if ":" in name else None
