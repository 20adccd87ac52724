"""Where each runtime is wired, once: the CLI, ``stockwatch serve``, the Lambda handlers and
the tests.

Entry points ask this module for a backend (``service.backend.Backend``) and never build
adapters themselves, so the choice of backend is made here and nowhere else. Each builder
takes its parts as overridable arguments, as cosmicpython's ``bootstrap()`` does: the tests
pass their own channels, limits or settings and get the same object the product runs on.

Adapters are imported inside the builders: LoadInventory and CheckStock are built without
the web stack or the notification channels (httpx), and the CLI without boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from stockwatch.core.limits import Limits
from stockwatch.core.ports import AlertChannel
from stockwatch.core.reader import Readable
from stockwatch.core.report import UploadReport
from stockwatch.service.backend import Backend, NotOnThisBackend, Progress
from stockwatch.service.commands import Validate

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp

    from stockwatch.aws.backend import AwsBackend
    from stockwatch.aws.settings import AwsSettings
    from stockwatch.notify.config import SubscriptionChannels
    from stockwatch.sqlite.backend import SqliteBackend
    from stockwatch.web.capabilities import WebCapabilities

__all__ = ["Backend", "NotOnThisBackend"]


def subscription_channels(
    data_dir: Path | None, environ: Mapping[str, str] | None = None
) -> SubscriptionChannels:
    """What makes each subscription's channel."""
    from stockwatch.notify.config import SubscriptionChannels, load_settings

    return SubscriptionChannels(load_settings(data_dir, environ))


def alert_channels(
    data_dir: Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, AlertChannel]:
    """The configured channels: the log always, webhook, email and SNS when set up."""
    from stockwatch.notify.config import ConfigError, channels_from_settings, load_settings

    settings = load_settings(data_dir, environ)
    channels = channels_from_settings(settings)
    topic = settings.get("sns_topic_arn", "").strip()
    if topic:
        try:
            from stockwatch.aws.settings import client_for
            from stockwatch.aws.sns_channel import SnsChannel
        except ImportError:
            raise ConfigError(
                "STOCKWATCH_SNS_TOPIC_ARN needs boto3: pip install 'stockwatch[aws]'"
            ) from None
        endpoint = settings.get("aws_endpoint_url") or None
        channels["sns"] = SnsChannel(client_for("sns", endpoint), topic)
    return channels


# -- one machine ---------------------------------------------------------------------------


def embedded(
    data_dir: Path,
    limits: Limits | None = None,
    channels: Mapping[str, AlertChannel] | None = None,
    *,
    channel_names: tuple[str, ...] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SqliteBackend:
    """The data directory on this machine; channels and subscriptions from its settings
    unless given."""
    from stockwatch.sqlite.backend import SqliteBackend

    if channels is None and channel_names is None:
        channels = alert_channels(data_dir, environ)
    return SqliteBackend(
        data_dir,
        limits or Limits.from_env(),
        channels,
        channel_names,
        subscribed=subscription_channels(data_dir, environ),
    )


# -- AWS -----------------------------------------------------------------------------------


def aws(
    limits: Limits | None = None,
    settings: AwsSettings | None = None,
    *,
    time_limited: bool = False,
) -> AwsBackend:
    """The stack's tables and bucket named by ``STOCKWATCH_*`` (see docs/aws.md).

    ``time_limited``: behind API Gateway, where long work is handed on to LoadInventory.
    Files are validated on a throwaway embedded backend, where one can be made.
    """
    from stockwatch.aws.backend import AwsBackend
    from stockwatch.aws.settings import AwsSettings
    from stockwatch.core.cost import Prices
    from stockwatch.notify.config import ConfigError

    if settings is None:
        try:
            settings = AwsSettings.from_env()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    limits = limits or Limits.from_env()

    def validate_here(command: Validate, source: Readable, on_progress: Progress) -> UploadReport:
        from stockwatch.sqlite.backend import scratch_backend

        with scratch_backend(limits) as scratch:
            return scratch.validate(command, source, on_progress)

    return AwsBackend(
        settings, limits, Prices.from_env(), time_limited=time_limited, validator=validate_here
    )


def cli_backend(
    name: str, data_dir: Path, limits: Limits, channels: Mapping[str, AlertChannel]
) -> Backend:
    """The CLI's backend: ``--backend sqlite`` (the default) or ``aws``."""
    if name == "aws":
        return aws(limits)
    return embedded(data_dir, limits, channels)


# -- the web app ---------------------------------------------------------------------------


def serve_backend(
    data_dir: Path,
    limits: Limits,
    channels: Mapping[str, AlertChannel],
    token: str | None,
    allowed_hosts: frozenset[str] | None,
    loopback: bool = True,
) -> tuple[SqliteBackend, WebCapabilities]:
    """``stockwatch serve``: one embedded backend for the app and the workers, and what the
    app offers on one machine (live events, metrics, the loopback mode)."""
    from stockwatch.web.capabilities import WebCapabilities
    from stockwatch.web.events import EventBus
    from stockwatch.web.metrics import Metrics

    backend = embedded(data_dir, limits, channels)
    bus, metrics = EventBus(), Metrics()
    backend.listeners += [bus.publish, metrics.observe]

    def open_access() -> bool:
        """Nobody signs in only on loopback, with no shared token, while no user has ever
        been made: a server that once had users never opens again."""
        return loopback and token is None and not backend.users().any()

    web = WebCapabilities(
        token=token,
        max_body_bytes=limits.max_file_bytes,
        upload_id_pattern=backend.upload_id_pattern,
        allowed_hosts=allowed_hosts,
        bus=bus,
        metrics=metrics,
        open_access=open_access,
    )
    return backend, web


def web_app(backend: Backend, web: WebCapabilities) -> FastAPI:
    from stockwatch.web.app import create_app

    return create_app(backend, web)


def lambda_web_app() -> tuple[ASGIApp, str | None]:
    """The dashboard and /api behind API Gateway: the same app as ``stockwatch serve``.

    Returns the app and None, or, when the API token cannot be read, an app that answers
    503 with a JSON message and the reason (for the log).
    """
    from stockwatch.aws.api_token import NoToken, load_token
    from stockwatch.aws.read_model import UPLOAD_ID_PATTERN
    from stockwatch.web.capabilities import WebCapabilities
    from stockwatch.web.unavailable import unavailable_app

    backend = aws(time_limited=True)
    try:
        token = load_token(backend.settings)
    except NoToken as exc:
        return unavailable_app("its API token cannot be read; see the function's log"), str(exc)
    web = WebCapabilities(
        token=token,
        max_body_bytes=backend.max_body_bytes,
        upload_id_pattern=UPLOAD_ID_PATTERN,
        presign=backend.presign_upload,
    )
    return web_app(backend, web), None
