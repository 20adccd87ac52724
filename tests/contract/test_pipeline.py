"""The pipeline's behaviour, the same on SQLite and on AWS (moto)."""

from __future__ import annotations

import random

import pytest

from tests.conftest import csv_bytes, sample
from tests.contract.conftest import only_on
from tests.contract.drivers import Backend, S3Delivery

BERLIN = csv_bytes(
    ("Berlin", "Echo Dot", 12),
    ("Berlin", "Echo Plus", 0),
    ("Berlin", "Echo Show", 18),
    header="Store,item,count",
)


def test_a_file_loads_alerts_once_and_again_changes_nothing(backend: Backend) -> None:
    upload = backend.receive("inventory-berlin.csv", BERLIN)
    report = backend.process(upload)
    assert (report["status"], report["rows_loaded"], report["rows_rejected"]) == ("loaded", 3, 0)
    assert backend.stock() == {
        ("Berlin", "Echo Dot"): 12,
        ("Berlin", "Echo Plus"): 0,
        ("Berlin", "Echo Show"): 18,
    }
    assert backend.notified_lines() == ["Berlin is out of stock of Echo Plus"]
    assert backend.open_alerts() == {("out_of_stock", "Berlin", "Echo Plus")}
    assert backend.changes_fed() == 3

    again = backend.process(upload)  # the same event delivered twice
    # The same report; its cost now counts CheckStock's digest on AWS, which came after.
    publishes = 1 if backend.name == "aws" else 0
    assert again.pop("cost")["sns"] == {"publishes": publishes}
    report.pop("cost")
    assert again == report
    assert backend.notified_lines() == []
    assert backend.changes_fed() == 0
    assert backend.raised() == [("out_of_stock", "Berlin", "Echo Plus")]


def test_the_shared_sample_loads(backend: Backend) -> None:
    data = sample("inventory-berlin.csv").read_bytes()
    report = backend.process(backend.receive("inventory-berlin.csv", data))
    assert report["status"] == "loaded"
    assert backend.notified_lines() == ["Berlin is out of stock of Echo Plus"]


@pytest.mark.parametrize("second_name", ["inventory-berlin.csv", "inventory-berlin-0602.csv"])
def test_an_unchanged_file_writes_nothing_under_any_name(
    backend: Backend, second_name: str
) -> None:
    backend.process(backend.receive("inventory-berlin.csv", BERLIN))
    backend.notified_lines()
    backend.changes_fed()
    report = backend.process(backend.receive(second_name, BERLIN))
    assert report["status"] == "loaded"
    assert (report["rows_loaded"], report["rows_unchanged"]) == (0, 3)
    assert backend.changes_fed() == 0  # no change fed: no stream record on AWS
    assert backend.notified_lines() == []
    assert backend.raised() == [("out_of_stock", "Berlin", "Echo Plus")]


def test_two_files_arriving_at_the_same_moment_both_load(backend: Backend) -> None:
    """On AWS: the same event time and the same sequencer, or none (S3-compatible servers)."""
    first = backend.receive("berlin.csv", csv_bytes(("Berlin", "Echo Dot", 0)))
    second = backend.receive("karachi.csv", csv_bytes(("Karachi", "Echo Dot", 0)))
    third = backend.receive("pusan.csv", csv_bytes(("Pusan", "Echo Dot", 0)))
    if isinstance(first, S3Delivery):
        moment = "2026-12-01T10:00:00.000Z"
        first = first.with_time(moment, "0055AA")
        second = second.with_time(moment, "0055AA")
        third = third.with_time(moment, None)
    reports = [backend.process(upload) for upload in (first, second, third)]
    assert [r["file"] for r in reports] == ["berlin.csv", "karachi.csv", "pusan.csv"]
    assert [r["rows_loaded"] for r in reports] == [1, 1, 1]
    assert len({r["upload_id"] for r in reports}) == 3
    assert backend.stock() == {
        ("Berlin", "Echo Dot"): 0,
        ("Karachi", "Echo Dot"): 0,
        ("Pusan", "Echo Dot"): 0,
    }
    assert sorted(backend.notified_lines()) == [
        "Berlin is out of stock of Echo Dot",
        "Karachi is out of stock of Echo Dot",
        "Pusan is out of stock of Echo Dot",
    ]


def test_bad_rows_are_reported_and_the_good_rows_load(backend: Backend) -> None:
    data = (
        b"store,item,count\nBerlin,Echo Dot,4\nBerlin,Echo Show,twelve\n"
        b"Berlin,,3\nBerlin,Echo Dot,5\n"
    )
    report = backend.process(backend.receive("bad.csv", data))
    assert report["status"] == "loaded_with_errors"
    assert (report["rows_loaded"], report["rows_rejected"]) == (1, 3)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "count"),
        (4, "item"),
        (5, "item"),
    ]
    assert backend.stock() == {("Berlin", "Echo Dot"): 4}


def test_strict_mode_rejects_the_whole_file(backend: Backend) -> None:
    data = b"store,item,count\nBerlin,Echo Dot,0\nBerlin,Echo Show,twelve\n"
    report = backend.process(backend.receive("strict.csv", data, strict=True))
    assert report["status"] == "rejected"
    assert report["rows_loaded"] == 0
    assert report["errors"][0]["line"] == 3
    assert backend.stock() == {}
    assert backend.notified_lines() == []


def test_a_file_that_is_not_inventory_is_rejected_with_one_message(backend: Backend) -> None:
    report = backend.process(backend.receive("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(64)))
    assert report["status"] == "rejected"
    assert "PNG" in report["message"]
    assert backend.stock() == {}


def test_thresholds_with_wildcards_raise_low_stock_once(backend: Backend) -> None:
    backend.set_threshold("Berlin", "*", 5)
    backend.process(
        backend.receive("a.csv", csv_bytes(("Berlin", "Echo Dot", 9), ("Pusan", "Echo Dot", 2)))
    )
    assert backend.notified_lines() == []  # Pusan has no minimum; Berlin's count is above it
    backend.process(backend.receive("b.csv", csv_bytes(("Berlin", "Echo Dot", 3))))
    (line,) = backend.notified_lines()
    assert line.startswith("Berlin is low on Echo Dot: 3 left")
    backend.process(backend.receive("c.csv", csv_bytes(("Berlin", "Echo Dot", 2))))
    assert backend.notified_lines() == []  # still low: no second alert
    backend.process(backend.receive("d.csv", csv_bytes(("Berlin", "Echo Dot", 0))))
    assert backend.notified_lines() == ["Berlin is out of stock of Echo Dot"]
    assert ("out_of_stock", "Berlin", "Echo Dot") in backend.open_alerts()


def test_an_older_upload_arriving_late_never_overwrites_a_newer_count(backend: Backend) -> None:
    older = backend.receive("monday.csv", csv_bytes(("Berlin", "Echo Dot", 0)))
    newer = backend.receive("tuesday.csv", csv_bytes(("Berlin", "Echo Dot", 7)))
    backend.process(newer)
    report = backend.process(older)
    assert report["rows_superseded"] == 1
    assert backend.stock() == {("Berlin", "Echo Dot"): 7}
    assert backend.notified_lines() == []


def test_a_late_upload_cannot_undo_what_a_newer_one_only_confirmed(backend: Backend) -> None:
    """The newer upload writes nothing (it confirms), yet the late one must still lose."""
    backend.process(backend.receive("a.csv", csv_bytes(("Berlin", "Echo Dot", 5))))
    late = backend.receive(
        "c.csv", csv_bytes(("Berlin", "Echo Dot", 7), ("Berlin", "Echo Show", 2))
    )
    backend.process(backend.receive("e.csv", csv_bytes(("Berlin", "Echo Dot", 5))))
    report = backend.process(late)
    assert backend.stock() == {("Berlin", "Echo Dot"): 5, ("Berlin", "Echo Show"): 2}
    assert (report["rows_superseded"], report["rows_loaded"]) == (1, 1)


def _history(rng: random.Random) -> list[bytes]:
    items = [("Berlin", "Echo Dot"), ("Berlin", "Echo Show"), ("Pusan", "Echo Dot")]
    files = []
    for _ in range(rng.randint(3, 6)):
        chosen = rng.sample(items, rng.randint(1, len(items)))
        files.append(csv_bytes(*((s, i, rng.choice([0, 0, 3, 8])) for s, i in chosen)))
    return files


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_histories_converge_on_the_newest_counts(backend: Backend, seed: int) -> None:
    """Uploads delivered in any order, some twice: the newest upload's count wins, and each
    item's alerts alternate (out, back in, out...) with every one notified exactly once."""
    rng = random.Random(seed)
    files = _history(rng)
    names = [rng.choice(["a.csv", "b.csv", f"file-{n}.csv"]) for n in range(len(files))]
    uploads = [backend.receive(name, data) for name, data in zip(names, files, strict=True)]
    if isinstance(uploads[0], S3Delivery):  # arrival order, as S3 would stamp it
        uploads = [
            u.with_time(f"2026-12-01T10:00:{n:02d}.000Z", f"{n + 1:016X}")
            for n, u in enumerate(uploads)
        ]
    order = list(range(len(uploads)))
    rng.shuffle(order)
    order += rng.sample(order, 2)  # repeats
    for n in order:
        backend.process(uploads[n])
    assert backend.stock() == _newest(files, names, order, uploads)
    raised = backend.raised()
    for key, count in backend.stock().items():
        outs = raised.count(("out_of_stock", *key))
        backs = raised.count(("back_in_stock", *key))
        assert outs - backs == (1 if count == 0 else 0), (key, raised)
    assert len(backend.notified_lines()) == len(raised)
    assert backend.open_alerts() == {
        ("out_of_stock", *key) for key, count in backend.stock().items() if count == 0
    }


def _newest(
    files: list[bytes], names: list[str], order: list[int], uploads: list[object]
) -> dict[tuple[str, str], int]:
    """Each item's count from the newest upload that gave it, among those that count."""
    counted = set(range(len(files)))
    if isinstance(uploads[0], S3Delivery):
        # AWS keeps a watermark per S3 key: an event of a key older than one of the same key
        # already processed is dropped whole ("a newer upload of this key was processed").
        seen: dict[str, int] = {}
        first_done: dict[int, int] = {}
        for position, n in enumerate(order):
            first_done.setdefault(n, position)
        for n in sorted(counted, key=lambda n: first_done[n]):
            if names[n] in seen and seen[names[n]] > n:
                counted.discard(n)
            seen[names[n]] = max(seen.get(names[n], -1), n)
    result: dict[tuple[str, str], int] = {}
    for n in sorted(counted):
        for line in files[n].decode().splitlines()[1:]:
            store, item, count = line.split(",")
            result[(store, item)] = int(count)
    return result


def test_a_row_written_by_another_program_is_updated(backend: Backend) -> None:
    only_on(
        backend,
        "aws",
        "on one machine only stockwatch writes its database; no other writer exists",
    )
    aws = backend.aws  # type: ignore[attr-defined]
    aws.dynamodb.put_item(
        TableName=aws.table,
        Item={"Store": {"S": "Berlin"}, "Item": {"S": "Echo Dot"}, "Count": {"N": "9"}},
    )
    backend.changes_fed()
    backend.pump()  # type: ignore[attr-defined]
    report = backend.process(
        backend.receive(
            "berlin.csv", csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", 4))
        )
    )
    assert (report["status"], report["rows_loaded"]) == ("loaded", 2)
    assert backend.stock() == {("Berlin", "Echo Dot"): 0, ("Berlin", "Echo Show"): 4}
    assert backend.notified_lines() == ["Berlin is out of stock of Echo Dot"]
    report = backend.process(backend.receive("berlin.csv", csv_bytes(("Berlin", "Echo Dot", 6))))
    assert report["rows_loaded"] == 1
    assert backend.notified_lines() == ["Berlin is back in stock of Echo Dot: 6"]


def test_deleting_an_item_resolves_its_open_alerts_without_notifying(backend: Backend) -> None:
    only_on(
        backend,
        "aws",
        "stockwatch on one machine has no way to delete an item; on AWS anyone can",
    )
    aws = backend.aws  # type: ignore[attr-defined]
    backend.process(backend.receive("berlin.csv", BERLIN))
    assert backend.open_alerts() == {("out_of_stock", "Berlin", "Echo Plus")}
    backend.notified_lines()
    aws.dynamodb.delete_item(
        TableName=aws.table, Key={"Store": {"S": "Berlin"}, "Item": {"S": "Echo Plus"}}
    )
    backend.pump()  # type: ignore[attr-defined]
    assert backend.open_alerts() == set()
    assert backend.notified_lines() == []
    (entry,) = backend.model().alerts(open_only=False, limit=10)
    assert entry.resolved_at


def test_each_report_carries_its_cost_in_one_shape(backend: Backend) -> None:
    """On one machine only the time; on AWS every request, the capacity and dollars."""
    rows = [("Berlin", f"Item {n}", 5 + n % 7) for n in range(1000)]
    first = backend.process(backend.receive("berlin.csv", csv_bytes(*rows)))["cost"]
    again = backend.process(backend.receive("berlin-again.csv", csv_bytes(*rows)))["cost"]
    for cost in (first, again):
        assert set(cost) == {"time_ms", "dynamodb", "s3", "sns", "lambda", "usd"}
        assert set(cost["dynamodb"]) == {
            "requests",
            "read_units",
            "write_units",
            "units_estimated",
        }
        assert cost["time_ms"] > 0
    if backend.name == "sqlite":
        assert first["usd"] is None and first["dynamodb"]["requests"] == {}
        return
    assert first["dynamodb"]["requests"]["BatchGetItem"] == 10  # 100 keys a request
    # The file, and the store's record (none yet); then the record is written.
    assert first["s3"]["requests"] == {"GetObject": 2, "PutObject": 1}
    # The re-upload diffs against the record: no row is read, none written.
    assert "BatchGetItem" not in again["dynamodb"]["requests"]
    assert again["s3"]["requests"] == {"GetObject": 2, "PutObject": 1}
    assert sum(again["dynamodb"]["requests"].values()) <= 6
    assert first["dynamodb"]["write_units"] >= 1000
    assert 0 < again["usd"] < first["usd"]
    assert again["dynamodb"]["write_units"] < 20  # the upload's own records, no rows


def test_two_runs_of_one_upload_at_once_keep_the_first_report(backend: Backend) -> None:
    """At-least-once events (and `ingest` beside `serve`): a second run of an upload that
    began before the first finished loads nothing new, and must not replace the first
    run's report with one that says nothing changed."""
    handle = backend.receive("b.csv", csv_bytes(("Berlin", "Echo Dot", 3), ("Berlin", "Tap", 0)))
    first, second = backend.race(handle)
    assert first["rows_loaded"] == 2
    assert (second["status"], second["rows_loaded"]) == ("loaded", 2)  # as the first says
    (stored,) = backend.model().uploads(10, None)
    kept = backend.model().upload(str(stored.id))
    assert kept is not None and (kept.status, kept.rows_loaded) == ("loaded", 2)
    assert backend.stock() == {("Berlin", "Echo Dot"): 3, ("Berlin", "Tap"): 0}
