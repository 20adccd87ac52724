"""Each Lambda function's package size and cold import time, before and after the split.

Before: one package for all three functions, as ``sam build`` made it from one CodeUri
(src/ plus every requirement of src/requirements.txt). After: each function as src/Makefile
builds it (``sam build`` runs the same targets). Sizes are for the functions' platform
(arm64, CPython 3.12); import times are measured here, on a build for this machine's
platform and Python, with only the package and what the Lambda runtime provides (boto3)
on the path, in a fresh interpreter (``python -X importtime``), median of five.

Targets (infra issue): the loader and the checker each at most a third of the single
package, and each cold import under 300 ms on this machine.

    python bench/lambda_bench.py [--before GIT-REV]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("boto3", "botocore", "s3transfer", "dateutil", "urllib3", "six.py", "jmespath")
TARGET_IMPORT_MS = 300
HANDLERS = {
    "LoadInventory": "stockwatch.handlers.loader",
    "CheckStock": "stockwatch.handlers.checker",
    # The Api handler imports the web app on its first request: measure that, the real cost.
    "Api": "stockwatch.web.app",
}


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def make(src: Path, target: str, into: Path, local: bool) -> Path:
    extra = []
    if local:  # this machine's wheels, so the binaries of the Api package load here
        tag = f"manylinux2014_{platform.machine()}"
        extra = [
            f"LAMBDA_PLATFORM={tag}",
            f"LAMBDA_PYTHON={sys.version_info.major}.{sys.version_info.minor}",
        ]
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(src),
            target,
            f"ARTIFACTS_DIR={into}",
            f"PYTHON={sys.executable}",
            *extra,
        ],
        check=True,
        capture_output=True,
    )
    return into


def single_package(src: Path, into: Path, local: bool) -> Path:
    """What one CodeUri for all three gave: src/ and all of src/requirements.txt."""
    tag = f"manylinux2014_{platform.machine()}" if local else "manylinux2014_aarch64"
    version = f"{sys.version_info.major}.{sys.version_info.minor}" if local else "3.12"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(into),
            "--platform",
            tag,
            "--implementation",
            "cp",
            "--python-version",
            version,
            "--only-binary=:all:",
            "-r",
            str(src / "requirements.txt"),
        ],
        check=True,
        capture_output=True,
    )
    shutil.copytree(
        src / "stockwatch",
        into / "stockwatch",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    return into


def runtime_dir(into: Path) -> Path:
    import boto3

    site = Path(boto3.__file__).parents[1]
    into.mkdir()
    for name in RUNTIME:
        os.symlink(site / name, into / name)
    return into


def import_ms(package: Path, runtime: Path, module: str) -> float:
    """Cumulative import time of ``module`` in a fresh interpreter, median of five."""
    times = []
    probe = f"import sys; sys.path[:0] = [{str(package)!r}, {str(runtime)!r}]; import {module}"
    for _ in range(5):
        result = subprocess.run(
            [sys.executable, "-I", "-X", "importtime", "-c", probe],
            capture_output=True,
            text=True,
            env={"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1"},
        )
        if result.returncode != 0:
            raise SystemExit(f"importing {module} failed:\n{result.stderr[-2000:]}")
        pattern = re.compile(rf"\|\s*(\d+) \| {re.escape(module)}$", re.M)
        times.append(int(pattern.findall(result.stderr)[-1]) / 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="a git revision with the single package, to measure too")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lambda-bench-"))
    runtime = runtime_dir(work / "runtime")
    single = size_mb(single_package(ROOT / "src", work / "single", local=False))
    print(f"package sizes (arm64, CPython 3.12), MB; before: one of {single:.1f} MB for all three")
    print(f"{'function':<16}{'MB':>8}{'of before':>11}{'cold import ms':>16}")
    ok = True
    for name, module in HANDLERS.items():
        arm = size_mb(
            make(ROOT / "src", f"build-{name}Function", work / f"{name}-arm", local=False)
        )
        here = make(ROOT / "src", f"build-{name}Function", work / f"{name}-here", local=True)
        ms = import_ms(here, runtime, module)
        print(f"{name:<16}{arm:>8.1f}{arm / single:>10.0%}{ms:>16.0f}")
        if name != "Api":
            ok &= arm <= single / 3 and ms < TARGET_IMPORT_MS
    if args.before:
        before_src = work / "before-src"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "-f", str(before_src), args.before],
            check=True,
        )
        try:
            package = single_package(before_src / "src", work / "before-here", local=True)
            ms = import_ms(package, runtime, "stockwatch.handlers")
            print(f"before ({args.before}): the one handlers module, cold import {ms:.0f} ms")
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before_src)],
                check=True,
            )
    shutil.rmtree(work)
    print(f"targets: loader and checker <= {single / 3:.1f} MB and < {TARGET_IMPORT_MS} ms each")
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
