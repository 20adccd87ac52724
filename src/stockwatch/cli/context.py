"""The CLI's shared state and options: one backend, built by ``bootstrap``."""

from __future__ import annotations

import gc
import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import update_wrapper
from pathlib import Path
from typing import Any, TypeVar

import click

from stockwatch.bootstrap import alert_channels, cli_backend
from stockwatch.core import layouts
from stockwatch.core.clock import BadTime, parse_time
from stockwatch.core.limits import Limits
from stockwatch.notify.config import ConfigError
from stockwatch.notify.console import ReportedChannel
from stockwatch.service.backend import Backend, NotOnThisBackend
from stockwatch.service.commands import Upload
from stockwatch.service.users import UserDirectory

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    def __init__(self, data_dir: Path, backend: str) -> None:
        self.data_dir = data_dir
        self.backend = backend
        self._backend: Backend | None = None
        try:
            self.limits = Limits.from_env()
            self.channels = alert_channels(data_dir)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None

    @property
    def runtime(self) -> Backend:
        """The backend (built on first use, so ``--help`` needs none)."""
        if self._backend is None:
            try:
                # Every command that can raise an alert prints what it raised in its own
                # report, so the console channel does not print it again (serve's does,
                # as its log).
                told = {**self.channels, "console": ReportedChannel()}
                self._backend = cli_backend(self.backend, self.data_dir, self.limits, told)
            except ConfigError as exc:
                raise click.UsageError(str(exc)) from None
        return self._backend

    def trail(self) -> UserDirectory:
        """Where changes are recorded (``service.users.AuditTrail``)."""
        return self.runtime.users()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


def cli_actor() -> str:
    """Who runs the CLI: it has the data directory, so it acts as an admin of it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector held off while a command builds a long list of rows that
    form no cycles (an order list over a million items: tuples, strings and numbers). It
    walked them a dozen times and found nothing: a twentieth of the command's time. It is
    turned back on after, for a command that goes on (``serve`` never pauses it)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def pass_context(f: F) -> F:
    """Pass the Context; a command this backend does not offer becomes a usage error."""

    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        try:
            return ctx.invoke(f, ctx.find_object(Context), *args, **kwargs)
        except NotOnThisBackend as exc:
            raise click.UsageError(str(exc)) from None

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


files_argument = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
new_option = click.option(
    "--new",
    is_flag=True,
    help="The store or item has no stock yet and is expected: do not refuse it as unknown.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except BadTime as exc:
        raise click.BadParameter(str(exc)) from None


as_of_option = click.option(
    "--as-of",
    metavar="TIME",
    callback=_as_of,
    help="When the counts were taken (ISO 8601, e.g. 2026-11-20T08:00Z; a date alone is"
    " midnight UTC). Uploads are ordered by it, so an older file loaded late never"
    " overwrites newer counts. Default: when the file arrives.",
)
snapshot_option = click.option(
    "--snapshot/--no-snapshot",
    default=None,
    help="The file lists every item of the stores it names: what it leaves out is set to 0"
    " (default: each store's own setting, see snapshot-default).",
)


def _layout(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A built-in layout or one saved here; ``upload`` sends the name to a server, whose
    saved layouts are not known here, so there only the server can refuse it."""
    if value is None or value in layouts.BY_NAME or ctx.info_name == "upload":
        return value
    state = ctx.find_object(Context)
    saved = state.runtime.saved_layouts() if state is not None else {}
    if value not in saved:
        known = ", ".join([*layouts.BY_NAME, *sorted(saved)])
        raise click.BadParameter(f"unknown layout {value!r}; the layouts are {known}")
    return value


def _columns(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            layouts.parse_columns(value)
        except layouts.LayoutError as exc:
            raise click.BadParameter(str(exc).removeprefix("--columns: ")) from None
    return value


layout_option = click.option(
    "--layout",
    metavar="NAME",
    callback=_layout,
    help="Read the file as this store system's export (see `stockwatch layouts`);"
    " default: found from the header row.",
)
columns_option = click.option(
    "--columns",
    metavar="MAPPING",
    callback=_columns,
    help='Map any other file\'s columns: "store=H,item=H,count=H" (headers as in the file).',
)
store_option = click.option(
    "--store",
    "store_name",
    metavar="NAME",
    help="The store of a file with no store column.",
)
sheet_option = click.option(
    "--sheet",
    metavar="NAME",
    help="The sheet of a spreadsheet (.xlsx, .xls, .ods) to read; default: the first whose"
    " header row a layout reads.",
)


def upload_options(f: F) -> F:
    """``--strict``, ``--as-of``, ``--snapshot``, ``--layout``, ``--columns``, ``--store``
    and ``--sheet``, given to the command as one ``Upload`` (its file name filled in per file):
    a new upload option is added here once."""

    def wrapper(
        *args: Any,
        strict: bool,
        as_of: str | None,
        snapshot: bool | None,
        layout: str | None,
        columns: str | None,
        store_name: str | None,
        sheet: str | None,
        **kwargs: Any,
    ) -> Any:
        upload = Upload(
            "",
            strict,
            as_of,
            snapshot,
            layout=layout,
            columns=columns,
            store=store_name,
            sheet=sheet,
        )
        return f(*args, upload=upload, **kwargs)

    update_wrapper(wrapper, f)
    options = strict_option(as_of_option(snapshot_option(wrapper)))
    options = sheet_option(options)
    return layout_option(columns_option(store_option(options)))  # type: ignore[return-value]


strict_option = click.option(
    "--strict/--lenient",
    default=lambda: os.environ.get("STOCKWATCH_STRICT", "").lower() in ("1", "true", "yes"),
    help="Reject the whole file when any row is bad (default: STOCKWATCH_STRICT, else lenient).",
)
