"""Which channels are on, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from stockwatch.core.ports import AlertChannel
from stockwatch.notify.console import ConsoleChannel
from stockwatch.notify.webhook import WebhookChannel


def channels_from_env(environ: Mapping[str, str] | None = None) -> dict[str, AlertChannel]:
    env = os.environ if environ is None else environ
    channels: dict[str, AlertChannel] = {"console": ConsoleChannel()}
    url = env.get("STOCKWATCH_WEBHOOK_URL", "").strip()
    if url:
        channels["webhook"] = WebhookChannel(url, secret=env.get("STOCKWATCH_WEBHOOK_SECRET"))
    return channels
