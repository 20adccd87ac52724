"""The container image, built and run with Debian's podman as CI runs it.

No registry is reachable here, so the base is made from Debian packages with mmdebstrap and
imported, then the Containerfile is built on it with ``--build-arg BASE`` — the same file
users build from python:3.12-slim. The running container is reached on 127.0.0.1 through a
published port, and reaches the test's webhook receiver on the host's loopback through
slirp4netns (10.0.2.2), so no traffic leaves this machine.

Needs root, podman, runc, slirp4netns and mmdebstrap; ``.ci/run`` installs them and sets
STOCKWATCH_CONTAINER_TESTS=required, which turns a missing tool into a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from stockwatch import __version__
from tests.conftest import Receiver, csv_bytes
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
BASE = "localhost/debian-python:bookworm"
IMAGE = "localhost/stockwatch:test"
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# The image's default limits exceed this machine's hard limits.
LIMITS = ["--ulimit", "nofile=16384:16384", "--ulimit", "nproc=16384:16384"]
PODMAN = ["podman", "--runtime", "runc"]
TOKEN = "container-test-token-0123456789"


def _podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _require_tools() -> None:
    missing = [t for t in ("podman", "runc", "mmdebstrap", "slirp4netns") if not shutil.which(t)]
    if os.geteuid() != 0:
        missing.append("root")
    if not missing:
        return
    message = f"the container tests need {', '.join(missing)}"
    if os.environ.get("STOCKWATCH_CONTAINER_TESTS") == "required":
        pytest.fail(message)
    pytest.skip(message + " (.ci/run installs them)")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    _require_tools()
    if _podman("image", "exists", BASE, check=False).returncode != 0:
        tar = tmp_path_factory.mktemp("base") / "base.tar"
        subprocess.run(
            [
                "mmdebstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                str(tar),
                str(SOURCES),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        _podman("import", str(tar), BASE, timeout=300)
        tar.unlink()
    _podman(
        "build",
        "--format",
        "docker",  # HEALTHCHECK is kept only in the docker format
        "--network",
        "host",
        *LIMITS,
        "--volume",
        f"{CA_BUNDLE}:{CA_BUNDLE}:ro",  # pip in the build trusts what this machine trusts
        "--build-arg",
        f"BASE={BASE}",
        "--tag",
        IMAGE,
        str(ROOT),
        timeout=900,
    )
    return IMAGE


@pytest.fixture
def volume(image: str) -> Iterator[str]:
    name = f"stockwatch-test-{uuid.uuid4().hex[:8]}"
    _podman("volume", "create", name)
    yield name
    _podman("volume", "rm", "--force", name, check=False)


def _run_detached(image: str, volume: str, port: int, hook: str) -> str:
    name = f"stockwatch-test-{uuid.uuid4().hex[:8]}"
    _podman(
        "run",
        "--detach",
        "--name",
        name,
        *LIMITS,
        "--network",
        "slirp4netns:allow_host_loopback=true",
        "--publish",
        f"127.0.0.1:{port}:8000",
        "--volume",
        f"{volume}:/data",
        "--env",
        f"STOCKWATCH_TOKEN={TOKEN}",
        "--env",
        f"STOCKWATCH_WEBHOOK_URL={hook}",
        "--health-interval",
        "disable",  # no systemd here to run the timer; the test runs the check itself
        image,
    )
    return name


def _wait_healthy(url: str, name: str) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    logs = _podman("logs", name, check=False)
    raise AssertionError(f"the container never answered /healthz:\n{logs.stdout}{logs.stderr}")


def _wait(predicate: Callable[[], object], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_it_refuses_to_listen_without_a_token(image: str) -> None:
    result = _podman("run", "--rm", *LIMITS, image, check=False, timeout=60)
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in result.stderr
    assert "Traceback" not in result.stderr


def test_upload_digest_restart_and_the_data_persists(
    image: str, volume: str, receiver: Receiver
) -> None:
    port = free_port()
    hook = receiver.url.replace("127.0.0.1", "10.0.2.2")  # the host's loopback, seen inside
    name = _run_detached(image, volume, port, hook)
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        health = _wait_healthy(url, name)
        assert health["version"] == __version__ and health["status"] == "ok"
        assert isinstance(health["schema"], int)
        # The image's own HEALTHCHECK command, run the way podman's timer would run it.
        assert _podman("healthcheck", "run", name, check=False).returncode == 0
        assert httpx.get(f"{url}/api/stores", timeout=5).status_code == 401

        body = csv_bytes(("Berlin", "Echo Dot", 12), ("Berlin", "Echo Plus", 0))
        posted = httpx.post(
            f"{url}/api/uploads",
            params={"filename": "inventory-berlin.csv"},
            content=body,
            headers={**auth, "Content-Type": "text/csv"},
            timeout=10,
        )
        assert posted.status_code == 202, posted.text
        upload = posted.json()["id"]

        def loaded() -> bool:
            report = httpx.get(f"{url}/api/uploads/{upload}", headers=auth, timeout=5).json()
            return bool(report.get("status") == "loaded")

        _wait(loaded, "the upload to load")
        _wait(lambda: receiver.received, "the webhook digest")
        assert "Berlin is out of stock of Echo Plus" in receiver.received[0]["text"]

        _podman("restart", "--time", "10", name, timeout=90)
        _wait_healthy(url, name)
        stock = httpx.get(f"{url}/api/stock", params={"store": "Berlin"}, headers=auth).json()
        assert [(r["item"], r["count"]) for r in stock["rows"]] == [
            ("Echo Dot", 12),
            ("Echo Plus", 0),
        ]
        uploads = httpx.get(f"{url}/api/uploads", headers=auth).json()
        assert [u["file"] for u in uploads["uploads"]] == ["inventory-berlin.csv"]
        alerts = httpx.get(f"{url}/api/alerts", params={"open": "true"}, headers=auth).json()
        assert [a["item"] for a in alerts] == ["Echo Plus"]
        time.sleep(1)  # a resend after the restart would have arrived by now
        assert len(receiver.received) == 1
        # The data is the volume's, owned by the image's unprivileged user.
        owner = _podman("exec", name, "stat", "-c", "%u %a", "/data/stockwatch.db")
        assert owner.stdout.split()[0] == "10001"
    finally:
        _podman("rm", "--force", "--time", "5", name, check=False, timeout=60)
