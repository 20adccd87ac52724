"""Crash harness: SIGKILL `stockwatch ingest` and `stockwatch serve` at random moments.

Each trial kills the process at a seeded random moment, runs `stockwatch process`, finishes
what a user would finish (a file the killed process had not yet accepted is ingested again),
and compares the stock table, the change feed, the alerts and the outbox with those of an
uninterrupted run, and the webhook deliveries with the reference's: none lost, and
duplicates counted (a kill between the receiver's 200 and the commit that marks it sent
repeats a delivery; its Idempotency-Key lets the receiver drop it).

    python -m tests.reliability.crash --rows 1000000 --trials 20 --seed 1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.common import (
    ROOT,
    WebhookLog,
    dump,
    inventory_csv,
    start_serve,
    stockwatch,
)


@dataclass
class Figures:
    mode: str
    rows: int
    trials: int = 0
    killed_while_running: int = 0
    killed_before_accepted: int = 0
    mismatched: int = 0
    lost: int = 0
    duplicated: int = 0
    corrupted: int = 0
    orphans: int = 0
    recovery_errors: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def _kill_leader(proc: subprocess.Popen[Any]) -> bool:
    """SIGKILL the process alone (not its group): its children must cope by themselves."""
    running = proc.poll() is None
    if running:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return running


def _orphans(pgid: int) -> int:
    """Processes of the killed one's group still alive a moment later; then kill them."""
    time.sleep(0.5)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return 0
    time.sleep(2.0)  # a read-ahead child notices its parent is gone when the pipe breaks
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return 0
    os.killpg(pgid, signal.SIGKILL)
    return 1


def _uploads(data_dir: Path) -> list[str]:
    db = data_dir / "stockwatch.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [name for (name,) in conn.execute("SELECT filename FROM uploads ORDER BY id")]
    except sqlite3.OperationalError:
        return []  # killed before the schema was created
    finally:
        conn.close()


def _compare(
    figures: Figures,
    trial_dir: Path,
    reference: dict[str, Any],
    expected_keys: Counter[str],
    hook: WebhookLog,
    label: str,
) -> None:
    state = dump(trial_dir)
    if state["integrity"][1] != "ok":
        figures.corrupted += 1
    differing = [k for k in ("stock", "changes", "alerts", "outbox") if state[k] != reference[k]]
    if differing:
        figures.mismatched += 1
        figures.notes.append(f"{label}: {', '.join(differing)} differ")
    got = hook.keys()
    lost = sum((expected_keys - got).values())
    figures.lost += lost
    figures.duplicated += sum(max(0, n - 1) for n in got.values())
    if lost:
        figures.notes.append(f"{label}: {lost} deliveries missing")


def ingest_trials(workdir: Path, rows: int, trials: int, seed: int) -> Figures:
    """Kill `stockwatch ingest` of the second of two uploads (so both kinds of alert occur)."""
    figures = Figures("ingest", rows)
    started = time.perf_counter()
    stores = max(1, rows // 1000)
    items = rows // stores
    base_file = inventory_csv(workdir / "base.csv", stores, items, seed)
    next_file = inventory_csv(workdir / "inventory.csv", stores, items, seed + 1)
    hook = WebhookLog().start()
    env = {"STOCKWATCH_WEBHOOK_URL": hook.url}
    base = workdir / "base"
    result = stockwatch(base, "ingest", str(base_file), env=env)
    assert result.returncode in (0, 1), result.stderr
    reference_dir = workdir / "reference"
    shutil.copytree(base, reference_dir)
    hook.clear()
    clock = time.perf_counter()
    result = stockwatch(reference_dir, "ingest", str(next_file), env=env)
    duration = time.perf_counter() - clock
    assert result.returncode in (0, 1), result.stderr
    reference = dump(reference_dir)
    expected = hook.keys()
    rng = random.Random(seed)
    for trial in range(trials):
        hook.clear()
        trial_dir = workdir / f"trial-{trial}"
        shutil.copytree(base, trial_dir)
        command = [sys.executable, "-m", "stockwatch", "--data-dir", str(trial_dir), "ingest"]
        proc = subprocess.Popen(
            [*command, str(next_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **env},
            cwd=ROOT,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0, duration * 1.1))
        figures.killed_while_running += _kill_leader(proc)
        figures.orphans += _orphans(proc.pid)
        recovered = stockwatch(trial_dir, "process", env=env)
        if recovered.returncode not in (0, 1):
            figures.recovery_errors += 1
            figures.notes.append(f"ingest trial {trial}: process said {recovered.stderr[-300:]}")
        if _uploads(trial_dir).count(next_file.name) == 0:
            figures.killed_before_accepted += 1  # the user runs the command again
            stockwatch(trial_dir, "ingest", str(next_file), env=env)
        _compare(figures, trial_dir, reference, expected, hook, f"ingest trial {trial}")
        figures.trials += 1
        shutil.rmtree(trial_dir)
    hook.stop()
    figures.seconds = round(time.perf_counter() - started, 1)
    return figures


def _post_all(port: int, files: list[Path], accepted: list[str]) -> None:
    for path in files:
        try:
            with open(path, "rb") as body:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/api/uploads",
                    params={"filename": path.name},
                    content=body,
                    headers={"Content-Type": "text/csv"},
                    timeout=120,
                )
            if response.status_code != 202:
                return
            accepted.append(path.name)
        except httpx.HTTPError:
            return  # the server was killed


def _pending(data_dir: Path) -> int:
    conn = sqlite3.connect(f"file:{data_dir / 'stockwatch.db'}?mode=ro", uri=True)
    try:
        (uploads,) = conn.execute(
            "SELECT count(*) FROM uploads WHERE status IN ('queued', 'processing')"
        ).fetchone()
        (outbox,) = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()
        return int(uploads + outbox)
    finally:
        conn.close()


def serve_trials(workdir: Path, rows: int, trials: int, seed: int) -> Figures:
    """Kill `stockwatch serve` while three uploads arrive over HTTP and are processed."""
    figures = Figures("serve", rows)
    started = time.perf_counter()
    stores = max(1, rows // 1000)
    items = rows // stores
    files = [inventory_csv(workdir / f"upload-{n}.csv", stores, items, seed + n) for n in range(3)]
    hook = WebhookLog().start()
    env = {"STOCKWATCH_WEBHOOK_URL": hook.url}
    reference_dir = workdir / "serve-reference"
    proc, port = start_serve(reference_dir, env)
    clock = time.perf_counter()
    accepted: list[str] = []
    _post_all(port, files, accepted)
    while _pending(reference_dir):
        time.sleep(0.1)
    duration = time.perf_counter() - clock
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert accepted == [f.name for f in files]
    reference = dump(reference_dir)
    expected = hook.keys()
    rng = random.Random(seed)
    for trial in range(trials):
        hook.clear()
        trial_dir = workdir / f"serve-trial-{trial}"
        proc, port = start_serve(trial_dir, env)
        accepted = []
        client = threading.Thread(target=_post_all, args=(port, files, accepted))
        client.start()
        time.sleep(rng.uniform(0, duration * 1.1))
        figures.killed_while_running += _kill_leader(proc)
        client.join()
        figures.orphans += _orphans(proc.pid)
        recovered = stockwatch(trial_dir, "process", env=env)
        if recovered.returncode not in (0, 1):
            figures.recovery_errors += 1
            figures.notes.append(f"serve trial {trial}: process said {recovered.stderr[-300:]}")
        kept = _uploads(trial_dir)
        missing = [f for f in files if f.name not in kept]
        if missing:
            figures.killed_before_accepted += 1
            for path in missing:  # never accepted: the client sends it again
                stockwatch(trial_dir, "ingest", str(path), env=env)
        _compare(figures, trial_dir, reference, expected, hook, f"serve trial {trial}")
        figures.trials += 1
        shutil.rmtree(trial_dir)
    hook.stop()
    figures.seconds = round(time.perf_counter() - started, 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", choices=["ingest", "serve", "both"], default="both")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="stockwatch-crash-") as tmp:
        if args.mode in ("ingest", "both"):
            results.append(ingest_trials(Path(tmp), args.rows, args.trials, args.seed))
        if args.mode in ("serve", "both"):
            results.append(serve_trials(Path(tmp), args.rows, args.trials, args.seed))
    for figures in results:
        print(json.dumps(figures.to_json()))
    bad = any(
        f.mismatched or f.lost or f.corrupted or f.recovery_errors or f.orphans for f in results
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
