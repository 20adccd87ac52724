"""Where the AWS resources are, from the environment (set by the SAM template on Lambda)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.config import Config

RETRIES = Config(retries={"max_attempts": 10, "mode": "standard"})


@dataclass(frozen=True)
class AwsSettings:
    table: str
    state_table: str
    bucket: str
    topic_arn: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    # LoadInventory's own queue: hand-overs of long uploads, and where replays go back to
    continue_queue_url: str | None = None
    # LoadInventory's on-failure destination: what `stockwatch --backend aws replay` reads
    failures_queue_url: str | None = None
    # Where SNS puts what an app-made subscription never took (its redrive policy)
    subscription_failures_arn: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AwsSettings:
        env = os.environ if environ is None else environ
        missing = [n for n in ("STOCKWATCH_TABLE", "STOCKWATCH_STATE_TABLE") if not env.get(n)]
        if missing:
            raise ValueError(f"set {' and '.join(missing)} to use the AWS backend")
        return cls(
            table=env["STOCKWATCH_TABLE"],
            state_table=env["STOCKWATCH_STATE_TABLE"],
            bucket=env.get("STOCKWATCH_BUCKET", ""),
            topic_arn=env.get("STOCKWATCH_TOPIC_ARN") or None,
            endpoint_url=env.get("STOCKWATCH_AWS_ENDPOINT_URL")
            or env.get("AWS_ENDPOINT_URL")
            or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            continue_queue_url=env.get("STOCKWATCH_CONTINUE_QUEUE_URL") or None,
            failures_queue_url=env.get("STOCKWATCH_LOAD_FAILURES_QUEUE_URL") or None,
            subscription_failures_arn=env.get("STOCKWATCH_SUBSCRIPTION_FAILURES_ARN") or None,
        )

    def client(self, service: str) -> Any:
        """A boto3 client honouring the endpoint setting, so compatible servers work too."""
        return client_for(service, self.endpoint_url, self.region)


def client_for(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
    endpoint = (
        endpoint_url
        or os.environ.get("STOCKWATCH_AWS_ENDPOINT_URL")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )
    return _cached_client(service, endpoint, region)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _session() -> Any:
    return botocore.session.get_session()


@lru_cache(maxsize=32)
def _cached_client(service: str, endpoint: str | None, region: str | None) -> Any:
    """One client per service and endpoint for the life of the process.

    Making a client costs tens of milliseconds; on Lambda a warm invocation reuses the
    clients of the previous one, as the Lambda guidance recommends. Clients are thread-safe;
    making them is not, hence the lock. botocore's session rather than boto3's: the same
    clients, without importing boto3's S3 transfer manager, which stockwatch never uses
    (about 90 ms of every cold start).
    """
    with _lock:
        return _session().create_client(
            service, endpoint_url=endpoint, region_name=region, config=RETRIES
        )
