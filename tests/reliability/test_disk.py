"""A full disk and a read-only data directory: a clear error, no corrupted database.

The data directory is put on a real tmpfs of a few megabytes (or remounted read-only), so
the errors are the kernel's own ENOSPC and EROFS. Mounting needs root with CAP_SYS_ADMIN
(CI runs as root); where that is refused, the full disk falls back to RLIMIT_FSIZE (the
kernel's EFBIG), and the read-only case is skipped with the reason.
"""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.reliability.common import ROOT, inventory_csv


def run(data_dir: Path, *args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def cap() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        preexec_fn=cap,
    )


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[bool]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def state(data_dir: Path) -> tuple[str, list[tuple[str, str, int]], list[str]]:
    conn = sqlite3.connect(f"file:{data_dir / 'stockwatch.db'}?mode=ro", uri=True)
    try:
        return (
            conn.execute("PRAGMA integrity_check").fetchone()[0],
            conn.execute("SELECT store, item, count FROM inventory ORDER BY 1, 2").fetchall(),
            [s for (s,) in conn.execute("SELECT status FROM uploads ORDER BY id")],
        )
    finally:
        conn.close()


def test_a_full_disk_gives_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    small = inventory_csv(tmp_path / "small.csv", 2, 50, seed=1)
    big = inventory_csv(tmp_path / "big.csv", 60, 1000, seed=2)  # 60,000 rows, ~1.8 MB
    with tmpfs(tmp_path / "disk", "3m") as mounted:
        data_dir = tmp_path / "disk" / "data"
        limit = None if mounted else 3 * 1024 * 1024
        assert run(data_dir, "ingest", str(small)).returncode == 0
        before = state(data_dir)
        full = run(data_dir, "ingest", str(big), limit=limit)
        assert full.returncode in (1, 2)
        assert "Traceback" not in full.stderr
        assert any(
            words in full.stderr
            for words in ("disk is full", "No space left", "File too large", "database or disk")
        ), full.stderr
        integrity, rows, statuses = state(data_dir)
        assert integrity == "ok"
        assert rows == before[1]  # nothing half-applied
        assert statuses[0] == "loaded" and all(s != "loaded" for s in statuses[1:])
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=200m", str(tmp_path / "disk")])
        again = run(data_dir, "process")
        retried = run(data_dir, "ingest", str(big)) if "queued" not in statuses else again
        assert retried.returncode == 0, retried.stderr
        integrity, rows, _ = state(data_dir)
        assert integrity == "ok" and len(rows) == 60_000  # the small file's items are among them


def test_a_read_only_data_directory_gives_a_clear_error(tmp_path: Path) -> None:
    small = inventory_csv(tmp_path / "small.csv", 2, 50, seed=1)
    with tmpfs(tmp_path / "disk", "50m") as mounted:
        if not mounted:
            pytest.skip("mounting a tmpfs needs root with CAP_SYS_ADMIN, refused here")
        data_dir = tmp_path / "disk" / "data"
        assert run(data_dir, "ingest", str(small)).returncode == 0
        before = state(data_dir)
        assert subprocess.run(["mount", "-o", "remount,ro", str(tmp_path / "disk")]).returncode == 0
        refused = run(data_dir, "ingest", str(small))
        assert refused.returncode in (1, 2)
        assert "Traceback" not in refused.stderr
        assert "read-only" in refused.stderr.lower(), refused.stderr
        reading = run(data_dir, "stock", "--json")
        assert reading.returncode == 0, reading.stderr  # reads still work
        subprocess.run(["mount", "-o", "remount,rw", str(tmp_path / "disk")])
        assert state(data_dir) == before
