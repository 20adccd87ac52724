"""The CLI's help: plain text, every option explained, every command with an example,
and docs/cli.md generated from it and current."""

from __future__ import annotations

from pathlib import Path

import click

from stockwatch.cli.docs import _commands, help_text, markdown
from stockwatch.cli.main import cli

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_generated_from_the_help_texts() -> None:
    assert CLI_MD.read_text(encoding="utf-8") == markdown(cli), (
        "docs/cli.md is stale: run `python -m stockwatch.cli.docs > docs/cli.md`"
    )


def test_every_command_has_an_example_and_plain_help() -> None:
    for path, command in _commands(cli, ["stockwatch"]):
        text = help_text(command, path)
        name = " ".join(path)
        assert "Example:" in text, f"{name} shows no example"
        assert "``" not in text and ":class:" not in text, f"{name} has reST markup"


def test_every_option_has_help() -> None:
    for path, command in _commands(cli, ["stockwatch"]):
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help", "version"):
                assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"
