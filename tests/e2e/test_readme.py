"""README.md's commands, run in order as a new user runs them after ``make run`` (#27).

The first two blocks are the set-up commands themselves (``make run``, ``make test``):
``make run`` is stood in for by what it runs, ``stockwatch serve --demo`` on the data
folder it uses; ``make test`` is what CI runs around this very test. Every other ``sh``
block runs line by line with bash, from a copy of the repository's ``examples/``, with
two changes and no others: the server's port is a free one instead of 8000, and ``/tmp/``
is this test's own folder. A line ending in ``# exit N`` must exit N; any other, 0.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXIT = re.compile(r"#\s*exit (\d+)")


def blocks(readme: str) -> list[list[str]]:
    """The ``sh`` blocks, each as its commands (continuation lines joined)."""
    found = []
    for body in re.findall(r"```sh\n(.*?)```", readme, flags=re.S):
        commands: list[str] = []
        for line in body.replace("\\\n", " ").splitlines():
            if line.strip():
                commands.append(line.strip())
        found.append(commands)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "stockwatch"
    root.mkdir()
    shutil.copytree(ROOT / "examples", root / "examples")
    return root


@pytest.fixture
def served(checkout: Path) -> Iterator[tuple[int, dict[str, str]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKWATCH_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    server = subprocess.Popen(
        ["stockwatch", "--data-dir", "demo-data", "serve", "--demo", "--port", str(port)],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "make run's server did not answer in 60 s"
            time.sleep(0.2)
        yield port, env
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_every_command_in_the_readme_runs_as_written(
    checkout: Path, served: tuple[int, dict[str, str]], tmp_path: Path
) -> None:
    port, env = served
    readme = (ROOT / "README.md").read_text()
    setup, test, *rest = blocks(readme)
    assert setup == ["make run"] and test == ["make test"]
    ran = 0
    for commands in rest:
        for command in commands:
            if command.startswith("#") or command == ". .venv/bin/activate":
                continue  # the test's PATH already has the environment's stockwatch
            if command.startswith("export "):
                name, value = command.removeprefix("export ").split("#")[0].strip().split("=")
                env[name] = value
                continue
            line = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            line = line.replace("/tmp/", f"{tmp_path}/")
            wanted = int(m.group(1)) if (m := EXIT.search(command)) else 0
            done = subprocess.run(
                ["bash", "-c", line],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == wanted, (command, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr, (command, done.stderr)
            ran += 1
            time.sleep(0.3) if "/api/uploads" in command else None  # the worker takes it
    assert ran >= 25

    # The ids the README names are the ones its commands made (curl exits 0 on a 404).
    def cli(*args: str) -> str:
        done = subprocess.run(
            ["stockwatch", *args, "--json"], cwd=checkout, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    uploads = {u["id"]: u for u in json.loads(cli("uploads"))}
    assert uploads[27]["file"] == "berlin-delivery.csv"
    assert (uploads[28]["file"], uploads[28]["status"]) == ("berlin-snapshot.csv", "loaded")
    assert uploads[29]["file"] == "inventory-pusan.csv"
    alert = next(a for a in json.loads(cli("alerts")) if a["id"] == 26)
    assert (alert["store"], alert["item"]) == ("Berlin", "Echo Plus")
    assert alert["acknowledged_by"] and alert["ack_note"] == "20 ordered"
