"""Where each runtime is wired, once: the CLI, ``stockwatch serve`` and the Lambda handlers.

Entry points ask this module for what they need and never build adapters themselves, so
the choice of backend is made here and nowhere else: a CLI command calls the same methods
on an embedded runtime as on an AWS one, and no command branches on the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from stockwatch.core.limits import Limits
from stockwatch.core.ports import AlertChannel
from stockwatch.core.report import UploadReport
from stockwatch.service.reads import ReadModel
from stockwatch.service.subscriptions import SubscriptionStore
from stockwatch.service.users import UserDirectory

# Imported where used, not here: LoadInventory and CheckStock import this module and are
# built without the notification channels (httpx) or the web stack.

Progress = Callable[[int], None] | None


class NotOnThisBackend(Exception):
    """A command that this backend does not offer; the message says what to do instead."""


class Delivery(Protocol):
    sent: int
    failed: int
    pending: int
    errors: list[str]


class Runtime(Protocol):
    """What the CLI needs of a backend."""

    name: str

    def model(self) -> ReadModel: ...

    def ingest(
        self,
        path: Path,
        strict: bool,
        on_progress: Progress,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
    ) -> UploadReport: ...

    def ingest_stream(self, name: str, source: Any) -> UploadReport: ...

    def validate(self, path: Path, strict: bool, on_progress: Progress) -> UploadReport: ...

    def process_pending(self) -> list[UploadReport]: ...

    def deliver(self, due_only: bool = True) -> Delivery | None: ...

    def replay(self, queue_url: str | None, dry_run: bool, limit: int) -> list[Any]: ...

    def confirm(self, upload_id: str) -> UploadReport:
        """Apply a snapshot held for confirmation."""
        ...

    def discard(self, upload_id: str, by: str) -> UploadReport: ...

    def set_snapshot_default(self, store: str, snapshot: bool) -> None: ...

    def backup(self, dest: Path) -> Any:
        """A consistent copy taken while it runs (``sqlite.backup``)."""
        ...

    def restore(self, source: Path) -> Any: ...

    def check(self) -> Any: ...

    def compact(self, vacuum: bool) -> Any:
        """Apply the retention settings (``sqlite.retention``)."""
        ...

    def users(self) -> UserDirectory:
        """Where users and the audit trail are kept."""
        ...

    def subscriptions(self) -> SubscriptionStore:
        """Who hears about which alerts."""
        ...

    def close(self) -> None: ...


def subscription_channels(data_dir: Path | None, environ: Mapping[str, str] | None = None) -> Any:
    """What makes each subscription's channel (``notify.config.SubscriptionChannels``)."""
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


class EmbeddedRuntime:
    """The data directory on this machine."""

    name = "sqlite"

    def __init__(
        self, data_dir: Path, limits: Limits, channels: Mapping[str, AlertChannel]
    ) -> None:
        self.data_dir = data_dir
        self.limits = limits
        self.channels = dict(channels)
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            from stockwatch.sqlite.app import EmbeddedStockwatch

            self._app = EmbeddedStockwatch(self.data_dir, self.limits, list(self.channels))
        return self._app

    def model(self) -> ReadModel:
        from stockwatch.sqlite.read_model import SqliteReadModel

        return SqliteReadModel(self.app)

    def ingest(
        self,
        path: Path,
        strict: bool,
        on_progress: Progress,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
    ) -> UploadReport:
        from stockwatch.sqlite.object_store import ObjectTooLarge

        try:
            with open(path, "rb") as source:
                upload_id = self.app.receive(path.name, source, strict, as_of, snapshot, uploader)
        except ObjectTooLarge as exc:
            return UploadReport(path.name, None, "rejected", message=str(exc))
        report: UploadReport = self.app.process_upload(upload_id, on_progress)
        return report

    def ingest_stream(self, name: str, source: Any) -> UploadReport:
        report: UploadReport = self.app.process_upload(self.app.receive(name, source))
        return report

    def validate(self, path: Path, strict: bool, on_progress: Progress) -> UploadReport:
        """Against the data directory when there is one, or a throwaway one."""
        from stockwatch.sqlite.app import scratch_stockwatch
        from stockwatch.sqlite.database import DATABASE_NAME

        with open(path, "rb") as source:
            if (self.data_dir / DATABASE_NAME).exists():
                report: UploadReport = self.app.validate(
                    path.name, source, strict, on_progress, path
                )
                return report
            with scratch_stockwatch(self.limits) as scratch:
                return scratch.validate(path.name, source, strict, on_progress, path)

    def process_pending(self) -> list[UploadReport]:
        reports: list[UploadReport] = self.app.process_pending()
        return reports

    def deliver(self, due_only: bool = True) -> Delivery:
        from stockwatch.sqlite.outbox import deliver

        subscribed = subscription_channels(self.data_dir)
        result: Delivery = deliver(
            self.app.conn, self.channels, due_only=due_only, subscribed=subscribed
        )
        return result

    def confirm(self, upload_id: str) -> UploadReport:
        report: UploadReport = self.app.confirm_upload(_local_id(upload_id))
        return report

    def discard(self, upload_id: str, by: str) -> UploadReport:
        report: UploadReport = self.app.discard_upload(_local_id(upload_id), by)
        return report

    def set_snapshot_default(self, store: str, snapshot: bool) -> None:
        self.app.set_snapshot_default(store, snapshot)

    def backup(self, dest: Path) -> Any:
        from stockwatch.sqlite.backup import backup

        return backup(self.data_dir, dest)

    def restore(self, source: Path) -> Any:
        from stockwatch.sqlite.backup import restore

        return restore(source, self.data_dir)

    def check(self) -> Any:
        from stockwatch.sqlite.backup import check

        return check(self.data_dir)

    def compact(self, vacuum: bool) -> Any:
        from stockwatch.core.retention import Retention
        from stockwatch.sqlite.retention import compact

        return compact(self.app.conn, self.data_dir, Retention.from_env(), vacuum=vacuum)

    def users(self) -> UserDirectory:
        from stockwatch.sqlite.users import SqliteUsers

        return SqliteUsers(self.app.conn)

    def subscriptions(self) -> SubscriptionStore:
        from stockwatch.sqlite.subscriptions import SqliteSubscriptions

        return SqliteSubscriptions(self.app.conn)

    def replay(self, queue_url: str | None, dry_run: bool, limit: int) -> list[Any]:
        raise NotOnThisBackend(
            "on one machine nothing is given up on: `stockwatch process` finishes interrupted"
            " uploads and undelivered notifications"
        )

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


AWS_BACKUPS = (
    "on AWS the tables have point-in-time recovery and the bucket keeps versions: restore"
    " with `aws dynamodb restore-table-to-point-in-time` and S3 object versions"
)


def _local_id(text: str) -> int:
    if not text.isdigit():
        raise NotOnThisBackend(f"{text!r} is not an upload id here: they are whole numbers")
    return int(text)


class AwsRuntime:
    """The DynamoDB tables and the bucket named by ``STOCKWATCH_*`` (see docs/aws.md)."""

    name = "aws"

    def __init__(self, limits: Limits) -> None:
        from stockwatch.aws.settings import AwsSettings
        from stockwatch.notify.config import ConfigError

        try:
            self.settings = AwsSettings.from_env()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.limits = limits

    def model(self) -> ReadModel:
        from stockwatch.aws.read_model import DynamoReadModel

        settings = self.settings
        return DynamoReadModel(settings, settings.client("dynamodb"), settings.client("s3"))

    def _loader(self) -> Any:
        from stockwatch.aws.loader import AwsLoader

        return AwsLoader.from_settings(self.settings, self.limits)

    def ingest(
        self,
        path: Path,
        strict: bool,
        on_progress: Progress,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
    ) -> UploadReport:
        """Straight into the table (a backfill): no S3 event, the same service."""
        with open(path, "rb") as source:
            report: UploadReport = self._loader().backfill(
                path.name, source, strict, as_of, snapshot, uploader
            )
        return report

    def ingest_stream(self, name: str, source: Any) -> UploadReport:
        report: UploadReport = self._loader().backfill(name, source)
        return report

    def validate(self, path: Path, strict: bool, on_progress: Progress) -> UploadReport:
        """Checked on a throwaway local database: the rows and their errors, as they would
        load; against an empty table, so rows_unchanged and alerts say nothing of AWS."""
        from stockwatch.sqlite.app import scratch_stockwatch

        with open(path, "rb") as source, scratch_stockwatch(self.limits) as scratch:
            return scratch.validate(path.name, source, strict, on_progress, path)

    def process_pending(self) -> list[UploadReport]:
        raise NotOnThisBackend(
            "on AWS, LoadInventory processes each upload as it arrives, and failed ones wait"
            " in its on-failure queue; there is nothing pending here to process"
        )

    def deliver(self, due_only: bool = True) -> None:
        return None  # CheckStock publishes to SNS itself

    def confirm(self, upload_id: str) -> UploadReport:
        """Loaded here, from the CLI: no Lambda time limit to hand over from."""
        from dataclasses import replace

        loader = self._loader()
        held = loader.held(upload_id.replace("~", "#"))
        report: UploadReport = loader.load(replace(held, confirmed=True))
        return report

    def discard(self, upload_id: str, by: str) -> UploadReport:
        report: UploadReport = self._loader().discard(upload_id.replace("~", "#"), by)
        return report

    def backup(self, dest: Path) -> Any:
        raise NotOnThisBackend(AWS_BACKUPS)

    def restore(self, source: Path) -> Any:
        raise NotOnThisBackend(AWS_BACKUPS)

    def check(self) -> Any:
        raise NotOnThisBackend(AWS_BACKUPS)

    def compact(self, vacuum: bool) -> Any:
        raise NotOnThisBackend(
            "on AWS, S3 lifecycle rules expire stored files and items keep their last eight"
            " changes; there is nothing to compact"
        )

    def users(self) -> UserDirectory:
        """Items of the state table (``aws.users``): the API signs people in from there."""
        from stockwatch.aws.users import DynamoUsers

        return DynamoUsers(self.settings.client("dynamodb"), self.settings.state_table)

    def subscriptions(self) -> SubscriptionStore:
        """SNS subscriptions of the alerts topic, filtered on store and kind."""
        from stockwatch.aws.subscriptions import SnsSubscriptions

        settings = self.settings
        if not settings.topic_arn:
            raise NotOnThisBackend(
                "set STOCKWATCH_TOPIC_ARN to the alerts topic (the stack's function"
                " environment has it) to manage subscriptions on AWS"
            )
        return SnsSubscriptions(
            settings.client("sns"),
            settings.topic_arn,
            settings.client("dynamodb"),
            settings.state_table,
        )

    def set_snapshot_default(self, store: str, snapshot: bool) -> None:
        from stockwatch.aws.loader import set_store_setting

        set_store_setting(
            self.settings.client("dynamodb"), self.settings.state_table, store, snapshot
        )

    def replay(self, queue_url: str | None, dry_run: bool, limit: int) -> list[Any]:
        """Load what LoadInventory gave up on, from its on-failure queue, here."""
        import os

        from stockwatch.aws.replay import replay

        queue = queue_url or self.settings.failures_queue_url
        if not queue:
            raise NotOnThisBackend(
                "name the failure queue: --queue URL, or STOCKWATCH_LOAD_FAILURES_QUEUE_URL"
                " (the stack's LoadFailuresQueueUrl output)"
            )
        suffix = os.environ.get("STOCKWATCH_UPLOAD_SUFFIX", ".csv")
        return replay(self.settings.client("sqs"), queue, self._loader(), suffix, dry_run, limit)

    def close(self) -> None:
        pass


def cli_runtime(
    backend: str, data_dir: Path, limits: Limits, channels: Mapping[str, AlertChannel]
) -> Runtime:
    if backend == "aws":
        return AwsRuntime(limits)
    return EmbeddedRuntime(data_dir, limits, channels)


# -- Lambda ------------------------------------------------------------------------------


def lambda_loader() -> Any:
    """The upload use case over the stack's bucket and tables (LoadInventory)."""
    from stockwatch.aws.loader import AwsLoader
    from stockwatch.aws.settings import AwsSettings

    return AwsLoader.from_settings(AwsSettings.from_env(), Limits.from_env())


def lambda_alerts() -> tuple[Any, Any]:
    """The alert store and the settings (CheckStock)."""
    from stockwatch.aws.alerting import AlertStore
    from stockwatch.aws.settings import AwsSettings

    settings = AwsSettings.from_env()
    return AlertStore(settings.client("dynamodb"), settings.state_table), settings


def lambda_web_app() -> tuple[Any, str | None]:
    """The dashboard and /api behind API Gateway: the same app as ``stockwatch serve``.

    Returns the app and None, or, when the API token cannot be read, an app that answers
    503 with a JSON message and the reason (for the log).
    """
    from stockwatch.aws.settings import AwsSettings
    from stockwatch.web.app import create_app
    from stockwatch.web.aws_backend import AwsWebBackend, NoToken, load_token
    from stockwatch.web.unavailable import unavailable_app

    settings = AwsSettings.from_env()
    try:
        token = load_token(settings)
    except NoToken as exc:
        return unavailable_app("its API token cannot be read; see the function's log"), str(exc)
    return create_app(AwsWebBackend(settings, token)), None
