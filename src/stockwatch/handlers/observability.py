"""The Powertools logger and metrics every function shares: JSON logs, EMF metrics."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "stockwatch")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "stockwatch")
logger = Logger()
metrics = Metrics()
