"""Commands that load files: ingest, validate, process, upload, replay."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from stockwatch.cli.context import (
    Context,
    cli_actor,
    files_argument,
    json_option,
    pass_context,
    upload_options,
)
from stockwatch.cli.output import describe_report, print_json, progress_bar
from stockwatch.core.report import UploadReport
from stockwatch.service.commands import Upload, Validate


def deliver_now(state: Context, due_only: bool = True) -> int:
    """Send what is due; returns how many notifications are still pending."""
    result = state.runtime.deliver(due_only)
    for error in result.errors:
        click.echo(f"notification not delivered yet, will retry: {error}", err=True)
    return result.pending


def finish(reports: list[UploadReport], as_json: bool, verb: str) -> None:
    if as_json:
        print_json([r.to_json() for r in reports])
    else:
        for report in reports:
            describe_report(report, verb)
    if any(r.is_failure() for r in reports):
        sys.exit(1)


@click.command()
@files_argument
@upload_options
@json_option
@pass_context
def ingest(state: Context, files: tuple[Path, ...], upload: Upload, as_json: bool) -> None:
    """Keep each FILE as an upload and load it now; print a report per file.

    Exit status: 0 when everything loaded, 1 when any row or file was rejected (or a
    snapshot is held for confirmation).

    \b
    Example: stockwatch ingest inventory-berlin.csv
             stockwatch ingest --as-of 2026-11-20 --snapshot last-week/berlin.csv
    """
    reports = []
    for path in files:
        with progress_bar(f"loading {path.name}", path.stat().st_size) as on_progress:
            asked = replace(upload.named(path.name), uploader=cli_actor())
            with open(path, "rb") as source:
                reports.append(state.runtime.ingest(asked, source, on_progress))
    deliver_now(state)
    finish(reports, as_json, "loaded")


@click.command()
@files_argument
@upload_options
@json_option
@pass_context
def validate(state: Context, files: tuple[Path, ...], upload: Upload, as_json: bool) -> None:
    """Report what ingesting each FILE would do, without writing anything.

    With --snapshot it previews a snapshot: which left-out items would be set to 0, and
    whether the upload would be held for confirmation. With --backend aws the file is
    checked on a throwaway local database: its rows and errors as they would load, but
    not what the table on AWS holds already.

    \b
    Example: stockwatch validate --strict inventory-berlin.csv
             stockwatch validate --snapshot inventory-berlin.csv
    """
    reports = []
    for path in files:
        size = path.stat().st_size
        with progress_bar(f"checking {path.name}", size) as on_progress, open(path, "rb") as source:
            asked = Validate(upload.named(path.name), path)
            reports.append(state.runtime.validate(asked, source, on_progress))
    finish(reports, as_json, "would load")


@click.command()
@json_option
@pass_context
def process(state: Context, as_json: bool) -> None:
    """Finish all pending work (interrupted uploads, undelivered notifications) and exit.

    \b
    Example: stockwatch process
    """
    reports = state.runtime.process_pending()
    result = state.runtime.deliver(due_only=False)
    sent, failed, pending = result.sent, result.failed, result.pending
    for error in result.errors:
        click.echo(f"notification not delivered yet, will retry: {error}", err=True)
    if as_json:
        print_json(
            {
                "uploads": [r.to_json() for r in reports],
                "notifications": {"sent": sent, "failed": failed, "pending": pending},
            }
        )
    else:
        for rep in reports:
            describe_report(rep)
        click.echo(
            f"uploads processed: {len(reports)}; notifications sent: {sent}, "
            f"still pending: {pending}"
        )
    if pending:
        sys.exit(1)


@click.command()
@files_argument
@click.option(
    "--server",
    envvar="STOCKWATCH_SERVER",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The stockwatch server (env STOCKWATCH_SERVER).",
)
@click.option("--token", envvar="STOCKWATCH_TOKEN", help="Its token (env STOCKWATCH_TOKEN).")
@upload_options
@json_option
def upload(
    files: tuple[Path, ...], server: str, token: str | None, upload: Upload, as_json: bool
) -> None:
    """Send each FILE to a running server, wait for its report and print it.

    \b
    Example: stockwatch upload inventory-berlin.csv --server http://shop.example:8000
    """
    import httpx

    from stockwatch.cli.remote import RemoteError, upload_file

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reports = []
    with httpx.Client(base_url=server, headers=headers, timeout=60) as client:
        for path in files:
            with progress_bar(f"sending {path.name}", path.stat().st_size) as on_progress:
                try:
                    reports.append(upload_file(client, path, upload, on_progress))
                except RemoteError as exc:
                    raise click.ClickException(str(exc)) from None
    finish(reports, as_json, "loaded")


@click.command()
@click.option(
    "--queue",
    "queue_url",
    help="The failure queue's URL [default: STOCKWATCH_LOAD_FAILURES_QUEUE_URL].",
)
@click.option("--dry-run", is_flag=True, help="List what would be replayed; load nothing.")
@click.option(
    "--limit",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="At most this many messages from the queue.",
)
@json_option
@pass_context
def replay(state: Context, queue_url: str | None, dry_run: bool, limit: int, as_json: bool) -> None:
    """Load the uploads LoadInventory gave up on (AWS), then take them off its queue.

    Safe to run again: an upload that has finished meanwhile changes nothing. Exit status
    1 when any upload still fails (its message stays on the queue).

    \b
    Example: stockwatch --backend aws replay --dry-run
    """
    results = state.runtime.replay(queue_url, dry_run, limit)
    if as_json:
        print_json(
            [
                {
                    "message_id": r.message_id,
                    "reports": [rep.to_json() for rep in r.reports],
                    "skipped": [{"record": s.what, "reason": s.why} for s in r.skipped],
                    "failed": [{"key": k, "error": e} for k, e in r.failed],
                    "removed_from_queue": r.deleted,
                }
                for r in results
            ]
        )
    else:
        for r in results:
            for rep in r.reports:
                if dry_run:
                    click.echo(f"would replay {rep.file} (upload {rep.upload_id})")
                else:
                    describe_report(rep, "replayed")
            for s in r.skipped:
                click.echo(f"skipped {s.what}: {s.why}")
            for key, error in r.failed:
                click.echo(f"still failing: {key}: {error} (left on the queue)", err=True)
        click.echo(
            f"messages: {len(results)}; "
            + (
                "nothing loaded (dry run)"
                if dry_run
                else f"removed from the queue: {sum(r.deleted for r in results)}"
            )
        )
    if any(r.failed for r in results):
        sys.exit(1)
