"""The release as users get it: a wheel and an sdist, the wheel installed (not editable)
into a fresh venv, and the installed stockwatch runs demo, process and serve with its
dashboard's files. An editable install would hide package data left out of the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import httpx

from stockwatch import __version__
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DATA = (
    "stockwatch/sqlite/migrations/0006_snapshots.sql",
    "stockwatch/web/static/main.js",
    "stockwatch/web/static/index.html",
    "stockwatch/demo_data/inventory-berlin.csv",
)


def test_the_wheel_installs_and_runs_on_its_own(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    assert wheel.name == f"stockwatch-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    assert all(name in names for name in PACKAGE_DATA), names
    with tarfile.open(sdist) as archive:
        inside = archive.getnames()
    assert any(n.endswith("CHANGELOG.md") for n in inside)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)]
    subprocess.run(pip, check=True, capture_output=True, timeout=600)
    command = venv / "bin" / "stockwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKWATCH_")}
    env["PYTHONPATH"] = ""  # nothing of the checkout: only what was installed
    data = tmp_path / "data"
    version = subprocess.run([command, "--version"], capture_output=True, text=True, env=env)
    assert __version__ in version.stdout
    demo = subprocess.run(
        [command, "--data-dir", data, "demo"], capture_output=True, text=True, env=env, timeout=120
    )
    assert demo.returncode == 0 and "out of stock" in demo.stdout, demo.stderr
    process = subprocess.run(
        [command, "--data-dir", data, "process"], capture_output=True, text=True, env=env
    )
    assert process.returncode == 0, process.stderr

    port = free_port()
    server = subprocess.Popen(
        [command, "--data-dir", data, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(url + "/healthz").json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        assert health["version"] == __version__ and health["schema"] >= 6
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "stockwatch" in page.text
        for path in (
            "/static/main.js",
            "/static/api.js",
            "/static/style.css",
            "/vendor/plotly.min.js",
        ):
            assert httpx.get(url + path).status_code == 200, path
        assert len(httpx.get(url + "/api/stores").json()) == 6
    finally:
        server.terminate()
        server.wait(timeout=30)
