"""Reading what `check` is given: bounded before any work starts, parsed with positions.

Every input comes from outside, so its cost is decided up front: bytes (all files of one call
together), nesting depth, how many JSON/YAML containers, how many permission entries. Reading
stops one byte past the budget, so a 50 MB file or an endless stream costs at most the budget.
Errors are one line naming the file and, for JSON and YAML, the line and column.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import stat
from dataclasses import dataclass, field

from catalog.limits import read_at_most

SHAPES = ("aws-policy", "aws-account", "terraform-plan", "azure-role", "gcp-role")  # --input-format
MAX_INPUT_BYTES = 10 * 1024 * 1024  # an account export of a large AWS account; raise with --max-input-mb
MAX_YAML_BYTES = 4 * 1024 * 1024  # Google Cloud roles are a few kB; libyaml reads 4 MB in about a second
MAX_CONTAINERS = 1_000_000  # objects and lists in one file: about 100 MB of Python objects at most
MAX_ENTRIES = 100_000  # action / permission strings over all inputs of one call
MAX_INNER_WILDCARDS = 500  # patterns such as `ec2:*Snapshot*`: each costs a regular-expression match
# IAM policies and role definitions nest about six levels; Terraform plans of nested modules
# about twenty. Anything far deeper is not an input of ours, and would exhaust the parser's recursion.
MAX_DEPTH = 32
MAX_PLAN_DEPTH = 64


class PolicyError(ValueError):
    """Bad input: the message names the file and, for JSON and YAML, the line and column."""


@dataclass
class Source:
    """One input: its name as the user gave it, its text and its parsed value."""

    where: str
    text: str
    value: object
    syntax: str  # json | yaml
    depth: int = 0

    # built on first use, once per input: a search per principal over the whole text took 93 s
    # on an account export of 40,000 roles
    _newlines: list[int] | None = field(default=None, init=False, repr=False, compare=False)
    _offsets: dict[str, dict[str, int]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def position(self, offset: int) -> tuple[int, int]:
        if self._newlines is None:
            self._newlines = [match.start() for match in re.finditer("\n", self.text)]
        before = bisect.bisect_left(self._newlines, offset)  # line ends before `offset`
        return before + 1, offset - (self._newlines[before - 1] + 1 if before else 0) + 1

    def find(self, key: str, value: str) -> tuple[int, int] | None:
        """Where `key: value` is first written (JSON `"key": "value"` or YAML `key: value`)."""
        if key not in self._offsets:
            self._offsets[key] = self._values_of(key)
        offset = self._offsets[key].get(json.dumps(value)[1:-1] if self.syntax == "json" else value)
        return None if offset is None else self.position(offset)

    def _values_of(self, key: str) -> dict[str, int]:
        """Each value written for `key` (as written: JSON escapes kept, YAML quotes dropped) and
        where it first is."""
        pattern = (rf'"{re.escape(key)}"\s*:\s*"((?:[^"\\]|\\.)*)"' if self.syntax == "json"
                   else rf"(?m)^[ \t-]*{re.escape(key)}[ \t]*:[ \t]*(.*)$")
        offsets: dict[str, int] = {}
        for match in re.finditer(pattern, self.text):
            written = match.group(1)
            if self.syntax != "json":  # trailing blanks cut here: a lazy `.*?` backtracks on them
                written = written.rstrip(" \t\r")
                written = written[1:] if written[:1] in "'\"" else written
                written = written[:-1] if written[-1:] in "'\"" else written
            offsets.setdefault(written, match.start())
        return offsets


def too_large(where: str, limit: int) -> PolicyError:
    return PolicyError(f"{where}: over the {limit:,}-byte limit of one check (all inputs together; "
                       "--max-input-mb raises it)")


def read_stream(stream, where: str, budget: int, limit: int | None = None) -> bytes:
    """At most `budget` bytes (what is left of the call's `limit`); one more means the input is
    over the limit."""
    data = read_at_most(stream, budget)
    if len(data) > budget:
        raise too_large(where, limit or budget)
    return data


def read_path(path: str, budget: int, limit: int | None = None) -> bytes:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise PolicyError(f"{path}: is a directory; give the files to check")
        if stat.S_ISREG(info.st_mode) and info.st_size > budget:
            raise too_large(path, limit or budget)
        with open(path, "rb") as handle:
            return read_stream(handle, path, budget, limit)
    except OSError as error:
        raise PolicyError(f"{path}: cannot read ({error.strerror or error})") from error


def decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise PolicyError(f"{where}: not UTF-8 text at line {line}, column {column}") from error


def _walk_json(value, where: str, limit: int) -> int:
    """The depth of a parsed JSON value, bounded (no sharing in JSON: a plain walk)."""
    stack, deepest = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > limit:
                raise too_deep(where, limit)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def too_deep(where: str, limit: int) -> PolicyError:
    return PolicyError(f"{where}: nested deeper than {limit} levels; not a policy, role definition, "
                       "account export or plan")


def too_many(where: str) -> PolicyError:
    return PolicyError(f"{where}: more than {MAX_CONTAINERS:,} objects and lists; not a policy, role "
                       "definition, account export or plan")


def parse_json(text: str, where: str, limit: int = MAX_PLAN_DEPTH) -> tuple[object, int]:
    if text.count("{") + text.count("[") > MAX_CONTAINERS:  # an upper bound, counted before parsing
        raise too_many(where)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyError(f"{where}: not valid JSON at line {error.lineno}, column {error.colno}: "
                          f"{error.msg}") from error
    except RecursionError as error:  # past the parser's own limit (about a thousand levels)
        raise too_deep(where, MAX_DEPTH) from error
    return value, _walk_json(value, where, limit)


def _yaml_loader():
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_nodes(root, where: str, limit: int) -> int:
    """Aliases are refused (gcloud writes none, and they can multiply a small file); depth and
    node count are bounded before anything is constructed."""
    import yaml

    seen: set[int] = set()
    stack, deepest = [(root, 1)], 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if id(node) in seen:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
            raise PolicyError(f"{where}: YAML aliases are not read (line {line}, column {column})")
        seen.add(id(node))
        if depth > limit:
            raise too_deep(where, limit)
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in node.value for part in pair)
    if len(seen) > MAX_CONTAINERS:
        raise too_many(where)
    return deepest


def parse_yaml(text: str, where: str, limit: int = MAX_DEPTH) -> tuple[object, int]:
    import yaml

    if len(text.encode()) > MAX_YAML_BYTES:
        raise PolicyError(f"{where}: YAML larger than {MAX_YAML_BYTES:,} bytes (a Google Cloud role is a few kB)")
    loader = _yaml_loader()(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise PolicyError(f"{where}: empty")
        depth = _check_nodes(root, where, limit)
        return loader.construct_document(root), depth
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where_in = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PolicyError(f"{where}: not valid YAML{where_in}: {error.problem or error.context}") from error
    except yaml.YAMLError as error:
        raise PolicyError(f"{where}: not valid YAML: {error}") from error
    except RecursionError as error:
        raise too_deep(where, limit) from error
    finally:
        loader.dispose()


def load(data: bytes, where: str, syntax: str | None = None) -> Source:
    """Decode and parse one input. JSON when it starts with `{` or `[` (or `syntax` says so),
    YAML otherwise (gcloud's default output)."""
    text = decode(data, where)
    if not text.strip():
        raise PolicyError(f"{where}: empty")
    if syntax is None:
        yaml_name = where.lower().endswith((".yaml", ".yml"))
        syntax = "json" if text.lstrip()[:1] in ("{", "[") and not yaml_name else "yaml"
    value, depth = parse_json(text, where) if syntax == "json" else parse_yaml(text, where)
    return Source(where, text, value, syntax, depth)
