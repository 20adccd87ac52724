"""docs/cli.md, generated from the commands' own help texts.

    python -m stockwatch.cli.docs > docs/cli.md

``tests/e2e/test_cli_docs.py`` checks that the file is current and that every command has
an example and every option a help text, so the page and ``--help`` never disagree.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click

WIDTH = 96


def _commands(command: click.Command, path: list[str]) -> Iterator[tuple[list[str], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(click.Context(command))):
            sub = command.get_command(click.Context(command), name)
            if sub is not None and not sub.hidden:
                yield from _commands(sub, [*path, name])


def help_text(command: click.Command, path: list[str]) -> str:
    """As ``--help`` prints it: with the root's help option names (``-h, --help``), which
    every command of the real CLI inherits."""
    from stockwatch.cli.main import cli

    names = cli.context_settings.get("help_option_names", ["--help"])
    with click.Context(
        command, info_name=" ".join(path), terminal_width=WIDTH, help_option_names=names
    ) as ctx:
        ctx.max_content_width = WIDTH
        return command.get_help(ctx)


def markdown(root: click.Command) -> str:
    lines = [
        "# The stockwatch command",
        "",
        "Generated from the help texts by `python -m stockwatch.cli.docs > docs/cli.md`;",
        "`tests/e2e/test_cli_docs.py` keeps it current. Global options come before the",
        "command: `stockwatch --data-dir ./data stock --store Berlin`.",
        "",
    ]
    for path, command in _commands(root, ["stockwatch"]):
        title = " ".join(path)
        lines += [f"## `{title}`", "", "```", help_text(command, path).rstrip(), "```", ""]
    return "\n".join(lines)


def main() -> None:
    from stockwatch.cli.main import cli

    sys.stdout.write(markdown(cli))


if __name__ == "__main__":
    main()
