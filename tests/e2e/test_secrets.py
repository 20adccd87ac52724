"""Tokens and files: strong enough off loopback, and private on disk."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from stockwatch.core.limits import Limits
from stockwatch.notify.console import ConsoleChannel
from stockwatch.server.runner import TokenRequired, build
from stockwatch.service.commands import Upload
from stockwatch.sqlite.backend import SqliteBackend
from stockwatch.sqlite.outbox import deliver
from tests.conftest import csv_bytes


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_off_loopback_the_token_must_be_16_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKWATCH_TOKEN", "x")
    with pytest.raises(TokenRequired, match="at least 16"):
        build(tmp_path / "d", "0.0.0.0", Limits(), {}, None)
    monkeypatch.setenv("STOCKWATCH_TOKEN", "s" * 16)
    backend, _, _ = build(tmp_path / "d", "0.0.0.0", Limits(), {}, None)
    backend.close()
    monkeypatch.setenv("STOCKWATCH_TOKEN", "x")  # on loopback a short token is the user's call
    backend, _, _ = build(tmp_path / "d", "127.0.0.1", Limits(), {}, None)
    backend.close()


def test_a_token_file_others_can_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOCKWATCH_TOKEN", raising=False)
    data = tmp_path / "d"
    data.mkdir()
    token = data / "token"
    token.write_text("a-long-enough-token-for-sure\n")
    token.chmod(0o644)
    with pytest.raises(TokenRequired, match=f"chmod 600 {token}"):
        build(data, "127.0.0.1", Limits(), {}, None)
    token.chmod(0o600)
    backend, web, _ = build(data, "0.0.0.0", Limits(), {}, None)
    assert web.token == "a-long-enough-token-for-sure"
    backend.close()


def test_serve_says_what_to_do_with_a_readable_token_file(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "token").write_text("a-long-enough-token-for-sure\n")
    (data / "token").chmod(0o640)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "chmod 600" in result.stderr and "Traceback" not in result.stderr


def test_the_data_directory_and_its_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual default: files readable by everyone
    try:
        app = SqliteBackend(tmp_path / "data", channel_names=("console",))
        app.process_upload(
            app.receive(Upload("a.csv"), io.BytesIO(csv_bytes(("Berlin", "Echo", 0))))
        )
        deliver(app.conn, {"console": ConsoleChannel()})
        app.close()
    finally:
        os.umask(old)
    data = tmp_path / "data"
    assert _mode(data) == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"stockwatch.db", "deliveries.db", "a.csv"}
    for path in files:
        assert _mode(path) & 0o077 == 0, (path, oct(_mode(path)))
    for folder in (p for p in data.rglob("*") if p.is_dir()):
        assert _mode(folder) & 0o077 == 0, (folder, oct(_mode(folder)))
