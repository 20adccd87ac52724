"""People with roles on one machine: tokens from the real CLI, checked by a real server.

Store-scoped users are not built yet (issue #13): the CLI refuses them, and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import csv_bytes
from tests.live_server import live_server

BOOTSTRAP = "bootstrap-token-0123456789abcdef"


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _add(data: Path, name: str, role: str) -> str:
    added = _cli(data, "users", "add", name, "--role", role)
    assert added.returncode == 0, added.stderr
    assert "shown once" in added.stderr
    return added.stdout.strip()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_roles_tokens_revocation_and_the_audit_trail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    manager = _add(data, "ana", "manager")
    viewer = _add(data, "vic", "viewer")
    refused = _cli(data, "users", "add", "shop", "--role", "store", "--store", "Berlin")
    assert refused.returncode == 2 and "not built yet" in refused.stderr
    # Only hashes are stored: no token in any file of the data directory.
    for path in data.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert manager.encode() not in content and viewer.encode() not in content, path

    monkeypatch.setenv("STOCKWATCH_TOKEN", BOOTSTRAP)
    with live_server(data) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/api/stores").status_code == 401  # users exist: everyone signs in
        assert client.get("/api/stores", headers=_auth(viewer)).status_code == 200
        body = csv_bytes(("Berlin", "Echo Dot", 0))

        def post_file(token: str) -> httpx.Response:
            headers = {"Content-Type": "text/csv", **_auth(token)}
            return client.post("/api/uploads", content=body, headers=headers)

        denied = post_file(viewer)
        assert denied.status_code == 403
        assert denied.json()["message"] == (
            "vic is a viewer, and a viewer may not upload inventory files"
        )
        assert post_file(manager).status_code == 403
        # The bootstrap token is the admin, as before users existed.
        posted = post_file(BOOTSTRAP)
        assert posted.status_code == 202, posted.text
        upload_id = posted.json()["id"]
        for _ in range(200):
            report = client.get(f"/api/uploads/{upload_id}", headers=_auth(viewer)).json()
            if report["status"] == "loaded":
                break
        (alert,) = client.get("/api/alerts", headers=_auth(manager)).json()
        acked = client.post(
            f"/api/alerts/{alert['id']}/ack", json={"by": "someone else"}, headers=_auth(manager)
        )
        assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "ana"
        thresholds = client.post(
            "/api/thresholds",
            json=[{"store": "Berlin", "item": "*", "minimum": 3}],
            headers=_auth(manager),
        )
        assert thresholds.status_code == 200, thresholds.text
        assert client.post("/api/thresholds", json=[], headers=_auth(viewer)).status_code == 403

        # Revoked: refused at once. Rotated: the old token refused, the new one signs in.
        assert _cli(data, "users", "revoke", "vic").returncode == 0
        gone = client.get("/api/stores", headers=_auth(viewer))
        assert gone.status_code == 401 and "not valid" in gone.json()["message"]
        rotated = _cli(data, "users", "rotate", "ana")
        assert rotated.returncode == 0
        assert client.get("/api/stores", headers=_auth(manager)).status_code == 401
        fresh = rotated.stdout.strip()
        assert client.get("/api/stores", headers=_auth(fresh)).status_code == 200

    listed = _cli(data, "users", "list", "--json")
    assert '"revoked_at": null' in listed.stdout and "vic" in listed.stdout
    assert fresh not in listed.stdout and "token" not in listed.stdout
    trail = json.loads(_cli(data, "audit", "--json").stdout)
    assert [(a["action"], a["subject"]) for a in trail] == [
        ("user.add", "ana"),
        ("user.add", "vic"),
        ("user.revoke", "vic"),
        ("user.rotate", "ana"),
    ]
    assert all(a["actor"].startswith("cli") for a in trail)


def test_failed_sign_ins_are_slowed_down(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _add(data, "ana", "manager")
    with live_server(data) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        statuses = [
            client.get("/api/stores", headers=_auth(f"sw_wrong-{n}")).status_code for n in range(21)
        ]
        assert statuses[:20] == [401] * 20 and statuses[20] == 429
        slowed = client.get("/api/stores", headers=_auth("sw_wrong"))
        assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) > 0
        assert client.get("/healthz").status_code == 200  # open paths are not held up
