"""Each Lambda function's package size and cold import time, before and after the split.

Before: one package for all three functions, as ``sam build`` made it from one CodeUri
(src/ plus every requirement of src/requirements.txt). After: each function as src/Makefile
builds it (``sam build`` runs the same targets). Sizes are for the functions' platform
(arm64, CPython 3.12). Import times are measured here with the functions' Python (3.12,
``--python``; pyenv has it), on a build for this machine's platform, with only the package
and boto3 (what the Lambda runtime provides) on the path, in a fresh interpreter that
writes no bytecode (``-B``: /var/task is read-only on Lambda), ``-X importtime``, median
of five. Without a 3.12 the bench measures with this interpreter instead, and says so.

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


def make(src: Path, target: str, into: Path, local: bool, python: str = "") -> Path:
    extra = []
    if local:  # this machine's wheels, so the binaries of the Api package load here
        tag = f"manylinux2014_{platform.machine()}"
        extra = [f"LAMBDA_PLATFORM={tag}", f"LAMBDA_PYTHON={version_of(python)}"]
        if python:
            extra.append(f"LAMBDA_COMPILER={python}")
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


def single_package(src: Path, into: Path, local: bool, python: str = "") -> Path:
    """What one CodeUri for all three gave: src/ and all of src/requirements.txt."""
    tag = f"manylinux2014_{platform.machine()}" if local else "manylinux2014_aarch64"
    version = version_of(python) if local else "3.12"
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


def version_of(python: str) -> str:
    command = [python or sys.executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def runtime_dir(into: Path, python: str) -> Path:
    """boto3 and its dependencies, compiled, as the Lambda runtime has them."""
    if python:
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--target", str(into), "boto3"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [python, "-m", "compileall", "-q", "-j", "0", str(into)],
            check=True,
            capture_output=True,
        )
        return into
    import boto3

    site = Path(boto3.__file__).parents[1]
    into.mkdir()
    for name in RUNTIME:
        os.symlink(site / name, into / name)
    return into


def import_ms(package: Path, runtime: Path, module: str, python: str) -> float:
    """Cumulative import time of ``module`` in a fresh interpreter, median of five."""
    times = []
    probe = f"import sys; sys.path[:0] = [{str(package)!r}, {str(runtime)!r}]; import {module}"
    for _ in range(5):
        result = subprocess.run(
            [python or sys.executable, "-B", "-I", "-X", "importtime", "-c", probe],
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
    parser.add_argument("--python", default=shutil.which("python3.12") or "", help="Python 3.12")
    args = parser.parse_args()
    python = args.python
    if python and subprocess.run([python, "-c", "pass"], capture_output=True).returncode != 0:
        python = ""  # a pyenv shim with no such version selected
    print(f"import times with Python {version_of(python)} ({python or sys.executable})")
    work = Path(tempfile.mkdtemp(prefix="lambda-bench-"))
    runtime = runtime_dir(work / "runtime", python)
    single = size_mb(single_package(ROOT / "src", work / "single", local=False))
    print(f"package sizes (arm64, CPython 3.12), MB; before: one of {single:.1f} MB for all three")
    print(f"{'function':<16}{'MB':>8}{'of before':>11}{'cold import ms':>16}")
    ok = True
    for name, module in HANDLERS.items():
        arm = size_mb(
            make(ROOT / "src", f"build-{name}Function", work / f"{name}-arm", local=False)
        )
        here = make(ROOT / "src", f"build-{name}Function", work / f"{name}-here", True, python)
        ms = import_ms(here, runtime, module, python)
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
            package = single_package(before_src / "src", work / "before-here", True, python)
            ms = import_ms(package, runtime, "stockwatch.handlers", python)
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
