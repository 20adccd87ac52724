"""What an upload cost: requests and capacity by service, time, and an estimate in dollars.

A low-cost application has to show its costs where a manager looks, so every report carries
the same ``cost`` shape on both backends. On one machine only the time is filled in (there
is no bill); on AWS the loader meters every request it makes and prices them with
``Prices``, whose defaults are AWS's published on-demand prices for us-east-1 (arm64
Lambda), as of 2026. Other regions differ by a few percent: set ``STOCKWATCH_PRICE_*``.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

# S3 bills these as "PUT, COPY, POST, LIST" requests; every other one at the GET rate.
S3_WRITE_REQUESTS = frozenset(
    {
        "PutObject",
        "CopyObject",
        "PostObject",
        "ListObjects",
        "ListObjectsV2",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "ListObjectVersions",
    }
)


@dataclass(frozen=True)
class Prices:
    """US dollars, on demand. Each field can be set with ``STOCKWATCH_PRICE_<FIELD>``."""

    region: str = "us-east-1"
    dynamodb_write_per_million: float = 0.625  # write request units
    dynamodb_read_per_million: float = 0.125  # read request units
    s3_write_per_thousand: float = 0.005  # PUT, COPY, POST, LIST
    s3_read_per_thousand: float = 0.0004  # GET and the rest
    sns_publish_per_million: float = 0.50
    lambda_gb_second: float = 0.0000133334  # arm64
    lambda_request_per_million: float = 0.20

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Prices:
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(f"STOCKWATCH_PRICE_{spec.name.upper()}", "").strip()
            if not raw:
                continue
            if spec.name == "region":
                changes[spec.name] = raw
                continue
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(
                    f"STOCKWATCH_PRICE_{spec.name.upper()} must be a number of dollars, not {raw!r}"
                ) from None
            if value < 0 or not math.isfinite(value):
                raise ValueError(f"STOCKWATCH_PRICE_{spec.name.upper()} must be 0 or more")
            changes[spec.name] = value
        return replace(cls(), **changes)


@dataclass
class Cost:
    time_ms: float = 0.0
    dynamodb_requests: Counter[str] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0
    s3_requests: Counter[str] = field(default_factory=Counter)
    sns_publishes: int = 0
    lambda_invocations: int = 0
    lambda_ms: float = 0.0
    lambda_memory_mb: int = 0
    usd: float | None = None
    # True where the endpoint reported no capacity and the units were worked out instead
    units_estimated: bool = False

    def add(self, other: Cost) -> None:
        """Fold another part of the same upload in (an earlier invocation, CheckStock)."""
        self.time_ms += other.time_ms
        self.dynamodb_requests.update(other.dynamodb_requests)
        self.read_units += other.read_units
        self.write_units += other.write_units
        self.s3_requests.update(other.s3_requests)
        self.sns_publishes += other.sns_publishes
        self.lambda_invocations += other.lambda_invocations
        self.lambda_ms += other.lambda_ms
        self.lambda_memory_mb = self.lambda_memory_mb or other.lambda_memory_mb
        self.units_estimated = self.units_estimated or other.units_estimated

    def priced(self, prices: Prices) -> Cost:
        """This cost with ``usd`` estimated at ``prices``."""
        s3_writes = sum(n for op, n in self.s3_requests.items() if op in S3_WRITE_REQUESTS)
        s3_reads = sum(self.s3_requests.values()) - s3_writes
        gb_seconds = self.lambda_ms / 1000 * self.lambda_memory_mb / 1024
        usd = (
            self.write_units * prices.dynamodb_write_per_million / 1e6
            + self.read_units * prices.dynamodb_read_per_million / 1e6
            + s3_writes * prices.s3_write_per_thousand / 1e3
            + s3_reads * prices.s3_read_per_thousand / 1e3
            + self.sns_publishes * prices.sns_publish_per_million / 1e6
            + gb_seconds * prices.lambda_gb_second
            + self.lambda_invocations * prices.lambda_request_per_million / 1e6
        )
        return replace(self, usd=usd)

    def to_json(self) -> dict[str, Any]:
        return {
            "time_ms": round(self.time_ms, 1),
            "dynamodb": {
                "requests": dict(sorted(self.dynamodb_requests.items())),
                "read_units": round(self.read_units, 1),
                "write_units": round(self.write_units, 1),
                "units_estimated": self.units_estimated,
            },
            "s3": {"requests": dict(sorted(self.s3_requests.items()))},
            "sns": {"publishes": self.sns_publishes},
            "lambda": {
                "invocations": self.lambda_invocations,
                "ms": round(self.lambda_ms, 1),
                "memory_mb": self.lambda_memory_mb,
            },
            "usd": None if self.usd is None else round(self.usd, 8),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cost:
        dynamodb = data.get("dynamodb") or {}
        function = data.get("lambda") or {}
        return cls(
            time_ms=float(data.get("time_ms") or 0),
            dynamodb_requests=Counter(dynamodb.get("requests") or {}),
            read_units=float(dynamodb.get("read_units") or 0),
            write_units=float(dynamodb.get("write_units") or 0),
            s3_requests=Counter((data.get("s3") or {}).get("requests") or {}),
            sns_publishes=int((data.get("sns") or {}).get("publishes") or 0),
            lambda_invocations=int(function.get("invocations") or 0),
            lambda_ms=float(function.get("ms") or 0),
            lambda_memory_mb=int(function.get("memory_mb") or 0),
            usd=data.get("usd"),
            units_estimated=bool(dynamodb.get("units_estimated")),
        )
