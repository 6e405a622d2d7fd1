"""What a permission name looks like, per provider, and its matching key.

One grammar per provider; every name the parser stores passes `is_valid_name`. A token that
looks like a name but fails its grammar is reported as a warning, never stored.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model imports these rules (operation keys); only the type comes back
    from catalog.model import Provider

# The action part starts with a letter or a wildcard: "host:27017" is not an action.
AWS_ACTION = re.compile(r"^[a-z0-9][a-z0-9-]*:[A-Za-z*][A-Za-z0-9*?]*$")
# IAM reads service prefixes case-insensitively: "EC2:describeVolumes" is a (badly written) action,
# stored so that enrichment can say how AWS spells it.
_AWS_ACTION_ANY_CASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*:[A-Za-z*][A-Za-z0-9*?]*$")
# Segments may hold inner dots ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/
# read") but never end in one: a trailing period is the end of a sentence, not of a name.
_AZURE_SEGMENT = r"[A-Za-z0-9*_{}-]+(?:\.[A-Za-z0-9*_{}-]+)*"
AZURE_OPERATION = re.compile(
    rf"^(?:[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+|\*)(?:/{_AZURE_SEGMENT})+$")
GCP_PERMISSION = re.compile(r"^[a-z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9]+){2,}$")
# Microsoft Graph / Exchange / SharePoint: `Resource.Permission[.Scope]` in PascalCase, or the
# lower-case underscore names (`full_access_as_app`) and the OpenID scopes.
M365_DOTTED = re.compile(r"^[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)?(?:\.[A-Z][A-Za-z0-9]*){1,3}$")
M365_UNDERSCORED = re.compile(r"^[a-z]+(?:_[a-z]+)+$")
M365_SCOPES = frozenset({"openid", "email", "profile", "offline_access"})
# Host names have the shape of GCP permissions; their last label gives them away.
_HOST_SUFFIXES = frozenset(
    "com net org io gov edu us uk de eu cn ru jp local internal windows azure amazonaws html"
    " htm xml json exe dll ps1 zip txt log md".split()
)

# Inside prose: the first name-like token of AWS or Azure form, bounded by non-name characters.
PROSE_AWS = re.compile(r"(?<![\w/.:-])([a-z0-9][a-z0-9-]{1,30}:[A-Z][A-Za-z0-9]*\*?)(?![\w/:-])")
PROSE_AZURE = re.compile(r"(?<![\w/.-])(Microsoft\.[A-Za-z0-9]+(?:/[A-Za-z0-9*.-]+)+)")
# Graph names in prose need two capitalised parts and a permission-like verb part, so that
# "Node.js" or "System.Net" are not taken for permissions.
PROSE_M365 = re.compile(
    r"(?<![\w/.:-])((?:[A-Z][A-Za-z]+)\.(?:Read|ReadWrite|ReadBasic|Send|Manage|FullControl|"
    r"AccessAsUser|ImportExport|ManageAsApp|Selected|Create|Write)[A-Za-z]*(?:\.[A-Z][A-Za-z]+)?)"
    r"(?![\w/-]|\.[A-Za-z])")

# Characters that end a sentence or close a quotation around a name, never part of the name.
TRAILING_PUNCTUATION = ".,;:)]}\"'!?”’»"
LEADING_PUNCTUATION = "([{\"'“‘«`"


def trim_name(token: str) -> str:
    """A token as it stands in text, without wrapping quotes/brackets or sentence punctuation.

    A trailing `}` is kept when the token opened one (`{name}` segments of Azure names) and a
    trailing `*` is always part of the name.
    """
    text = token.strip().strip("`")
    while text:
        before = text
        text = text.lstrip(LEADING_PUNCTUATION)
        while text and text[-1] in TRAILING_PUNCTUATION:
            if text[-1] == "}" and text.count("{") >= text.count("}"):
                break
            text = text[:-1]
        if text == before:
            break
    return text


def is_aws_action(name: str) -> bool:
    return name == "*" or bool(_AWS_ACTION_ANY_CASE.match(name))


def is_azure_operation(name: str) -> bool:
    return name == "*" or bool(AZURE_OPERATION.match(name))


def is_gcp_permission(token: str) -> bool:
    return bool(GCP_PERMISSION.match(token)) and token.rsplit(".", 1)[1].lower() not in _HOST_SUFFIXES


def is_m365_permission(name: str) -> bool:
    return name in M365_SCOPES or bool(M365_DOTTED.match(name) or M365_UNDERSCORED.match(name))


_GRAMMARS = {"aws": is_aws_action, "azure": is_azure_operation, "gcp": is_gcp_permission,
             "m365": is_m365_permission}


def is_valid_name(provider: str, name: str) -> bool:
    """Does `name` follow the grammar of `provider`'s permission names?"""
    grammar = _GRAMMARS.get(provider)
    return bool(grammar and grammar(name))


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


_VERSION_IN_TITLE = re.compile(r"\b(?:to |for )?(?:version|v)\s*\d+(?:\.\d+)*[a-z]?\b", re.I)
_PRODUCT_APPLIANCE = re.compile(
    r"\bveeam backup for (?:aws|amazon web services|microsoft azure|azure|google cloud)\b"
    r"(?: appliance)?", re.I)
_NOISE = re.compile(r"\b(?:a|an|the|new|existing|veeam)\b", re.I)
_SPACE = re.compile(r"\s+")


def title_key(title: str) -> str:
    """Operation titles and section headings as matched across versions.

    Case, articles, "Veeam Backup for AWS appliance" vs "backup appliance" and version
    numbers ("upgrade ... to version 8" vs "to version 9") do not make a different operation.
    """
    text = _PRODUCT_APPLIANCE.sub("backup appliance", title.lower())
    text = _VERSION_IN_TITLE.sub(" to version N", text)
    text = _NOISE.sub(" ", text)
    text = re.sub(r"backup appliance(?: appliance)+", "backup appliance", text)
    return _SPACE.sub(" ", re.sub(r"[^\w ]+", " ", text)).strip()
