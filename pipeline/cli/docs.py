"""The README's command table, generated from the commands' own help (run by cog; checked by a test)."""

from __future__ import annotations

from collections.abc import Iterator

import click


def walk(group: click.Group, ctx: click.Context) -> Iterator[tuple[click.Command, click.Context]]:
    """Every registered command, sub-commands of a group after it, in registration order."""
    for name, command in group.commands.items():
        child = click.Context(command, info_name=name, parent=ctx)
        yield command, child
        if isinstance(command, click.Group):
            yield from walk(command, child)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def examples(command: click.Command) -> list[str]:
    """The example command lines of a command's help (the lines that start with `veeam-perms`)."""
    lines = []
    for line in (command.help or "").splitlines():
        text = line.strip().removeprefix("Example:").strip()
        if text.startswith("veeam-perms"):
            lines.append(text)
    return lines


def command_table(cli: click.Group) -> str:
    """A Markdown table: usage, the first paragraph of the help, and its examples."""
    rows = ["| command | what for | example |", "| --- | --- | --- |"]
    root = click.Context(cli, info_name="veeam-perms")
    for command, ctx in walk(cli, root):
        usage = " ".join(command.collect_usage_pieces(ctx))
        summary = (command.help or "").split("\n\n")[0]
        example = "<br>".join(f"`{_cell(line)}`" for line in examples(command))
        rows.append(f"| `{_cell(ctx.command_path + ' ' + usage)}` | {_cell(summary)} | {example} |")
    return "\n".join(rows) + "\n"
