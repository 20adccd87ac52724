"""Keeping a data directory safe: backup, restore and check."""

from __future__ import annotations

from pathlib import Path

import click

from stockwatch.cli.context import Context, pass_context
from stockwatch.cli.output import plural
from stockwatch.sqlite.backup import BackupError


def _describe(result: object, verb: str) -> None:
    uploads = getattr(result, "uploads", 0)
    files, size = getattr(result, "files", 0), getattr(result, "bytes", 0)
    click.echo(
        f"{verb}: {plural(uploads, 'upload')}, {plural(files, 'stored file')}, {size:,} bytes"
    )
    problems = getattr(result, "problems", [])
    for problem in problems:
        click.echo(f"  problem: {problem}", err=True)
    if problems:
        raise SystemExit(1)


@click.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@pass_context
def backup(state: Context, dest: Path) -> None:
    """Copy the data directory to DEST (a new or empty folder) while it keeps running.

    The databases are copied consistently (an upload is wholly in the backup or wholly
    out), then the stored files; settings are copied without their secrets, and the token
    file is left out.

    \b
    Example: stockwatch --data-dir /srv/stockwatch backup /backups/stockwatch-2026-12-02
    """
    try:
        _describe(state.runtime.backup(dest), f"backed up to {dest}")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--with-settings",
    is_flag=True,
    help="Restore the backup's stockwatch.toml too (it holds no secrets; its addresses are"
    " the backup's).",
)
@pass_context
def restore(state: Context, source: Path, with_settings: bool) -> None:
    """Restore the backup in SOURCE into --data-dir (which must be new or empty).

    The backup is checked first (its databases hold only stockwatch's own schema, every
    stored file is inside it, no links) and its copy after (every file against its hash):
    when a check fails, nothing is restored.

    \b
    Example: stockwatch --data-dir /srv/stockwatch restore /backups/stockwatch-2026-12-02
    """
    try:
        restored = state.runtime.restore(source, with_settings)
        _describe(restored, f"restored into {state.data_dir}")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.option("--no-vacuum", is_flag=True, help="Leave the database file's size as it is.")
@pass_context
def compact(state: Context, no_vacuum: bool) -> None:
    """Apply retention: remove stored files past their keeping time, thin old history.

    History older than STOCKWATCH_KEEP_HISTORY_DAYS (default 90, at least 62) keeps one point
    per item per STOCKWATCH_HISTORY_STEP (month, the default; week or day); files older
    than STOCKWATCH_KEEP_FILES_DAYS (default 400) go. Reports and alerts are kept. `serve`
    does this once a day.

    \b
    Example: stockwatch --data-dir /srv/stockwatch compact
    """
    try:
        done = state.runtime.compact(not no_vacuum)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(
        f"thinned {plural(done.changes_thinned, 'old change')}, archived"
        f" {plural(done.alerts_archived, 'old alert')}, removed"
        f" {plural(done.files_removed, 'stored file')} ({done.bytes_freed:,} bytes); the"
        f" database went from {done.database_before:,} to {done.database_after:,} bytes"
    )


@click.command()
@pass_context
def check(state: Context) -> None:
    """Check the databases' integrity and every stored file against its recorded hash.

    Exit status 1 when anything is wrong; each problem is named.

    \b
    Example: stockwatch --data-dir /srv/stockwatch check
    """
    try:
        _describe(state.runtime.check(), f"checked {state.data_dir}")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
