"""Fixtures the end-to-end tests share: a live server on 127.0.0.1 and one headless chromium
per module. (The app in process, with a client that calls it directly, is
``tests.live_server.served`` and ``in_process_client``.)"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.live_server import LiveServer, live_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
# As the machine's probe starts it: without the background-networking flags chromium
# tries hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def needs_chromium() -> None:
    """Skip a browser module where chromium is missing, except in CI (which installs it)."""
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip(
            "Debian's chromium is not installed here (.ci/run installs it)",
            allow_module_level=True,
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server (uvicorn and its workers) on a free port of 127.0.0.1."""
    with live_server(tmp_path / "data") as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
