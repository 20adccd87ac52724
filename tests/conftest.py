"""Shared fixtures: real data directories, a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stockwatch.cli.main import main
from stockwatch.core.report import UploadReport
from stockwatch.service.commands import Upload
from stockwatch.sqlite.backend import SqliteBackend

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def sample(name: str) -> Path:
    """A sample file from ``examples/``, the files the README's commands use."""
    return EXAMPLES / name


def run_cli(data: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The ``stockwatch`` CLI on a data directory, in this process, with no STOCKWATCH_* from
    outside (``timeout`` is for the process form, ``run_process``)."""
    return cli_in_process("--data-dir", str(data), *args)


def cli_in_process(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    keep_env: bool = False,
) -> subprocess.CompletedProcess[str]:
    """The CLI's own ``main`` under click's test runner: the same parsing, output and exit
    status as the installed command, without starting a Python for each call. The
    environment is the test's, less any STOCKWATCH_* of the shell (unless ``keep_env``: an
    AWS stack's settings), plus ``env``."""
    clean: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith("STOCKWATCH_") and not keep_env
    }
    clean.update(env or {})
    runner = CliRunner()
    code: int | str | None = 0
    with runner.isolation(input=stdin, env=clean) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    status = code if isinstance(code, int) else (0 if code is None else 1)
    stdout = out.getvalue().decode("utf-8", "replace")
    stderr = err.getvalue().decode("utf-8", "replace")
    return subprocess.CompletedProcess(["stockwatch", *args], status, stdout, stderr)


def aws_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``stockwatch --backend aws`` with the stack's STOCKWATCH_* and moto's endpoint."""
    return cli_in_process("--backend", "aws", *args, keep_env=True)


def run_process(data: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real ``stockwatch`` process, for what is about the process itself (a terminal,
    signals, an installed package)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def csv_bytes(*rows: tuple[str, str, int | str], header: str = "store,item,count") -> bytes:
    lines = [header, *(f"{s},{i},{c}" for s, i, c in rows)]
    return ("\n".join(lines) + "\n").encode()


def ingest(app: SqliteBackend, name: str, data: bytes, strict: bool = False) -> UploadReport:
    upload_id = app.receive(Upload(name, strict), io.BytesIO(data))
    return app.process_upload(upload_id)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[SqliteBackend]:
    instance = SqliteBackend(tmp_path / "data", channel_names=("webhook",))
    yield instance
    instance.close()


@dataclass
class Receiver:
    """A webhook endpoint: records each POST; can be told to fail."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # each body as sent (signatures cover it)
    fail_with: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.fail_with is not None:
                self.send_response(state.fail_with)
                self.end_headers()
                return
            with state.lock:
                state.received.append(json.loads(body))
                state.headers.append(dict(self.headers))
                state.raw.append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in server mode with infra/template.yaml deployed into it (tests/aws_stack.py)."""
    from tests.aws_stack import running_stack

    yield from running_stack(monkeypatch)
