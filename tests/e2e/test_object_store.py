"""The folder object store keeps a file exactly: copied in the kernel when it is a file,
block by block otherwise, its hash read back from the copy, a file over the limit never
published."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from stockwatch.core.ports import ObjectTooLarge
from stockwatch.sqlite.object_store import COPY_BLOCK, FolderObjectStore

DATA = bytes(range(256)) * (3 * COPY_BLOCK // 256) + b"the tail\n"


@pytest.fixture
def store(tmp_path: Path) -> FolderObjectStore:
    return FolderObjectStore(tmp_path / "objects")


def _stored(store: FolderObjectStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("kind", ["file", "stream"])
def test_a_file_or_a_stream_is_kept_exactly_with_its_hash(
    store: FolderObjectStore, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(DATA)
    published: list[bytes] = []
    with open(path, "rb") if kind == "file" else io.BytesIO(DATA) as source:
        kept = store.put(
            store.new_key("in.csv"), source, 10**9, lambda p: published.append(p.read_bytes())
        )
    assert store.path_of(kept.key).read_bytes() == DATA
    assert published == [DATA]  # complete under its name when its reading may begin
    assert (kept.size, kept.sha256) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    assert oct(os.stat(store.path_of(kept.key)).st_mode & 0o777) == "0o600"


def test_a_file_read_part_way_is_kept_from_where_it_stands(
    store: FolderObjectStore, tmp_path: Path
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(DATA)
    with open(path, "rb") as source:
        source.read(1000)  # buffered: the descriptor stands further on than the stream
        kept = store.put(store.new_key("in.csv"), source, 10**9)
    assert store.path_of(kept.key).read_bytes() == DATA[1000:]


@pytest.mark.parametrize("kind", ["file", "stream"])
@pytest.mark.parametrize("limit", [len(DATA) - 1, COPY_BLOCK - 1, 0])
def test_a_file_over_the_limit_is_refused_and_nothing_is_left(
    store: FolderObjectStore, tmp_path: Path, kind: str, limit: int
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(DATA)
    source = open(path, "rb") if kind == "file" else io.BytesIO(DATA)  # noqa: SIM115
    with source, pytest.raises(ObjectTooLarge, match="larger than the limit"):
        store.put(store.new_key("in.csv"), source, limit)
    assert _stored(store) == []


def test_a_file_exactly_at_the_limit_is_kept(store: FolderObjectStore, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(DATA)
    with open(path, "rb") as source:
        kept = store.put(store.new_key("in.csv"), source, len(DATA))
    assert kept.size == len(DATA)
    assert [p.name for p in _stored(store)] == ["in.csv"]


def test_a_pipe_is_copied_block_by_block(store: FolderObjectStore) -> None:
    """Not a regular file: the kernel copy is not tried, the blocks are read."""
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as writer:
        writer.write(b"store,item,count\nA,x,1\n")
    with os.fdopen(read_end, "rb") as source:
        kept = store.put(store.new_key("in.csv"), source, 10**6)
    assert store.path_of(kept.key).read_bytes() == b"store,item,count\nA,x,1\n"


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no tmpfs at /dev/shm here")
def test_a_file_on_another_file_system_is_copied_block_by_block(
    store: FolderObjectStore,
) -> None:
    """The kernel refuses to copy across file systems (EXDEV): having copied nothing, the
    store copies the blocks itself."""
    import tempfile

    with tempfile.NamedTemporaryFile(dir="/dev/shm") as other:
        other.write(DATA)
        other.flush()
        with open(other.name, "rb") as source:
            kept = store.put(store.new_key("in.csv"), source, 10**9)
    assert store.path_of(kept.key).read_bytes() == DATA
    assert kept.sha256 == hashlib.sha256(DATA).hexdigest()
