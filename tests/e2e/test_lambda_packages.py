"""Each Lambda function ships only what it imports (src/Makefile, run by ``sam build``).

The targets are run here as ``sam build`` runs them (``make build-<Function>`` with
ARTIFACTS_DIR); pip takes the functions' arm64 wheels from the package index. The stream
functions' handlers are then imported from their package alone, beside a copy of what
the Lambda runtime provides (boto3 and its dependencies), so a missing module fails here
and not on the first upload. The Api package holds arm64 binaries that cannot load on
this machine, so only its contents are checked. Sizes and import times: bench/lambda_bench.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
# What the Lambda Python runtime has besides the standard library.
RUNTIME = ("boto3", "botocore", "s3transfer", "dateutil", "urllib3", "six.py", "jmespath")
WEB_STACK = ("fastapi", "starlette", "pydantic", "pydantic_core", "plotly", "httpx", "mangum")
TODAY_MB = 63  # one package for all three functions, before this split


def build(target: str, into: Path) -> Path:
    result = subprocess.run(
        ["make", "-s", "-C", str(SRC), target, f"ARTIFACTS_DIR={into}", f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return into


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lambda")
    return {
        name: build(f"build-{name}Function", root / name)
        for name in ("LoadInventory", "CheckStock", "Api")
    }


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import boto3

    site = Path(boto3.__file__).parents[1]
    folder = tmp_path_factory.mktemp("runtime")
    for name in RUNTIME:
        os.symlink(site / name, folder / name)
    return folder


@pytest.mark.parametrize(
    ("function", "module", "handler"),
    [
        ("LoadInventory", "stockwatch.handlers.loader", "load_inventory"),
        ("CheckStock", "stockwatch.handlers.checker", "check_stock"),
    ],
)
def test_the_stream_functions_are_lean_and_import_from_their_package_alone(
    packages: dict[str, Path], runtime: Path, function: str, module: str, handler: str
) -> None:
    package = packages[function]
    assert size_mb(package) < TODAY_MB / 3
    present = {p.name for p in package.iterdir()}
    assert not present & set(WEB_STACK), present
    assert not (package / "stockwatch" / "web").exists()
    # The spreadsheet reader (arm64, loaded only when a workbook arrives: not imported here).
    assert (package / "python_calamine").is_dir()
    probe = (
        "import sys\n"
        f"sys.path[:0] = [{str(package)!r}, {str(runtime)!r}]\n"
        f"from {module} import {handler}\n"
        f"leaked = [m for m in {WEB_STACK!r} + ('stockwatch.web', 'stockwatch.sqlite')"
        " if m in sys.modules]\n"
        "assert not leaked, leaked\n"
        f"print({handler}.__module__)\n"
    )
    # -I: none of this environment's site-packages, so only the package and the runtime.
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == module


def test_the_api_function_carries_the_web_stack(packages: dict[str, Path]) -> None:
    package = packages["Api"]
    present = {p.name for p in package.iterdir()}
    assert {"fastapi", "starlette", "pydantic_core", "mangum", "plotly"} <= present
    assert (package / "stockwatch" / "web" / "static" / "index.html").exists()
    assert (package / "stockwatch" / "handlers" / "web.py").exists()
    assert not (package / "stockwatch" / "cli").exists()
