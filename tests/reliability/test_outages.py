"""Outages: the receivers down for a minute while `stockwatch serve` keeps working.

The webhook receiver and the SMTP server (aiosmtpd) are down for STOCKWATCH_OUTAGE_SECONDS
(60 by default) while three uploads that raise alerts arrive; then they come back on the
same ports. Every digest must arrive on both channels, none twice (counted by the
Idempotency-Key header and the email's X-Stockwatch-Idempotency-Key).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller

from tests.conftest import csv_bytes
from tests.e2e.test_email import Mailbox
from tests.live_server import free_port
from tests.reliability.common import WebhookLog, start_serve

OUTAGE = float(os.environ.get("STOCKWATCH_OUTAGE_SECONDS", "60"))


def test_receivers_down_for_a_minute_lose_and_repeat_nothing(tmp_path: Path) -> None:
    hook_port, smtp_port = free_port(), free_port()
    env = {
        "STOCKWATCH_WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/hook",
        "STOCKWATCH_SMTP_HOST": "127.0.0.1",
        "STOCKWATCH_SMTP_PORT": str(smtp_port),
        "STOCKWATCH_SMTP_SECURITY": "none",
        "STOCKWATCH_EMAIL_FROM": "stockwatch@example.test",
        "STOCKWATCH_EMAIL_TO": "manager@example.test",
        "STOCKWATCH_RETRY_MAX_SECONDS": "4",  # the default five minutes would only slow this
    }
    server, web_port = start_serve(tmp_path / "data", env, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{web_port}"
    hook = WebhookLog(port=hook_port)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    try:
        outage_started = time.monotonic()
        uploads = [
            csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Plus", 4)),
            csv_bytes(("Berlin", "Echo Dot", 6), ("Berlin", "Echo Plus", 0)),
            csv_bytes(("Hamburg", "Kindle", 0)),
        ]
        for n, body in enumerate(uploads):
            response = httpx.post(
                f"{base}/api/uploads",
                params={"filename": f"outage-{n}.csv"},
                content=body,
                headers={"Content-Type": "text/csv"},
            )
            assert response.status_code == 202
            time.sleep(OUTAGE / 6)
        while time.monotonic() - outage_started < OUTAGE:
            time.sleep(0.5)
        pending = httpx.get(f"{base}/metrics").text
        assert "stockwatch" in pending
        hook.start()
        smtp.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(hook.keys()) == 3 and len(mailbox.messages) >= 3:
                break
            time.sleep(0.2)
        time.sleep(5)  # long enough for any second try to show
        hook_keys = hook.keys()
        mail_keys = Counter(m["X-Stockwatch-Idempotency-Key"] for m in mailbox.messages)
        assert len(hook_keys) == 3, f"webhook deliveries lost: {hook_keys}"
        assert len(mail_keys) == 3, f"emails lost: {mail_keys}"
        assert max(hook_keys.values()) == 1 and max(mail_keys.values()) == 1
        texts = "\n".join(body["text"] for _, body in hook.deliveries)
        for line in (
            "Berlin is out of stock of Echo Dot",
            "Berlin is out of stock of Echo Plus",
            "Hamburg is out of stock of Kindle",
        ):
            assert line in texts
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
        hook.stop()
        smtp.stop()
    assert "Traceback" not in stderr, stderr[-4000:]
    assert "could not be reached" in stderr or "failed" in stderr  # the outage was felt
