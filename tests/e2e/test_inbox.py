"""The inbox folder against what strangers and ordinary accidents put there (#25): real
symbolic links, a real pipe, real slow writers, a file over the limit, a name of 254 bytes,
and a restart with files left in processing/. The app and its workers run in this process
(``tests.live_server.served``); nothing is mocked."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stockwatch.core.limits import Limits
from stockwatch.server.inbox import NAME_BYTES, short_name
from tests.conftest import csv_bytes
from tests.live_server import Served, served

ROWS = [("Berlin", f"Item {n}", 1100) for n in range(200)]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


@pytest.fixture
def running(tmp_path: Path, inbox: Path) -> Iterator[Served]:
    with served(tmp_path / "data", limits=Limits(max_file_bytes=100_000), inbox=inbox) as app:
        yield app


def wait_for(condition: Callable[[], bool], seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_symbolic_link_is_rejected_never_followed(
    running: Served, inbox: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret-token"
    secret.write_text("store,item,count\nsw_very_secret,token,1\n")
    (inbox / "looks-fine.csv").symlink_to(secret)
    os.mkfifo(inbox / "pipe.csv")
    wait_for(lambda: len(names(inbox / "rejected")) == 4)
    rejected = inbox / "rejected"
    assert (rejected / "looks-fine.csv").is_symlink()  # the link itself, moved aside
    assert "symbolic link" in (rejected / "looks-fine.csv.reason.txt").read_text()
    assert "not a regular file" in (rejected / "pipe.csv.reason.txt").read_text()
    assert running.backend.uploads() == []  # nothing was read, nothing was kept
    kept = [p.read_bytes() for p in (running.data_dir / "objects").rglob("*") if p.is_file()]
    assert not any(b"sw_very_secret" in data for data in kept)


def _slow_writer(path: Path, data: bytes, cut: int, pause: float) -> threading.Thread:
    def write() -> None:
        with open(path, "wb") as out:
            out.write(data[:cut])
            out.flush()
            time.sleep(pause)
            out.write(data[cut:])

    thread = threading.Thread(target=write)
    thread.start()
    return thread


@pytest.mark.parametrize("where", ["in a number", "at a line's end"])
def test_a_file_still_being_written_is_never_taken_half_done(
    running: Served, inbox: Path, where: str
) -> None:
    """The review's repro: 200 rows in two parts with a 3.5 s pause loaded 101 of them, and
    the line cut in a number stored 11 instead of 1100."""
    data = csv_bytes(*ROWS)
    middle = data.index(b"1100", len(data) // 2) + 2  # "11" | "00"
    cut = middle if where == "in a number" else data.index(b"\n", middle) + 1
    _slow_writer(inbox / "slow.csv", data, cut, 3.5).join()
    wait_for(lambda: names(inbox / "processed") != [])
    (upload,) = running.backend.uploads()
    assert upload.report is not None and upload.report.rows_loaded == 200
    counts = {c for (c,) in running.backend.conn.execute("SELECT count FROM inventory")}
    assert counts == {1100}


def test_one_bad_file_never_stalls_the_others_nor_loads_twice(running: Served, inbox: Path) -> None:
    long = "x" * (250 - len(".csv")) + ".csv"
    assert len(long.encode()) == 250  # near the limit: "<id>-" must shorten it
    (inbox / "huge.csv").write_bytes(b"store,item,count\n" + b"Berlin,Dot,1\n" * 20_000)
    (inbox / long).write_bytes(csv_bytes(("Berlin", "Echo", 3)))
    (inbox / "good.csv").write_bytes(csv_bytes(("Pusan", "Tap", 2)))
    wait_for(lambda: len(names(inbox / "processed")) == 2 and names(inbox / "rejected") != [])
    time.sleep(3)  # a few more looks: nothing is taken again
    assert names(inbox) == ["processed", "processing", "rejected"]
    assert names(inbox / "rejected") == ["huge.csv", "huge.csv.reason.txt"]
    assert "limit" in (inbox / "rejected" / "huge.csv.reason.txt").read_text()
    assert len(running.backend.uploads()) == 2
    assert all(len(n.encode()) <= NAME_BYTES for n in names(inbox / "processed"))


def test_files_left_in_processing_are_moved_on_at_start(tmp_path: Path, inbox: Path) -> None:
    with served(tmp_path / "data", inbox=inbox) as first:
        (inbox / "a.csv").write_bytes(csv_bytes(("Berlin", "Echo", 3)))
        wait_for(lambda: names(inbox / "processed") != [])
        (done,) = names(inbox / "processed")
    # As if the server had stopped before moving it on.
    os.rename(inbox / "processed" / done, inbox / "processing" / done)
    with served(tmp_path / "data", inbox=inbox):
        wait_for(lambda: names(inbox / "processed") == [done])
    assert names(inbox / "processing") == []
    assert first.backend is not None


def test_names_are_shortened_whole_characters_and_extension_kept() -> None:
    name = "ü" * 200 + ".csv"
    short = short_name(name, "12345-")
    assert len(short.encode()) <= NAME_BYTES
    assert short.startswith("12345-ü") and short.endswith("….csv")
    assert short_name("a.csv", "7-") == "7-a.csv"
