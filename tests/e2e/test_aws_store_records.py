"""Each store's record of its last counts on AWS (``core.store_record``, ``aws/store_records``).

A re-upload diffs against the record instead of reading every row, so the record must
never vouch for a count the table no longer holds. These tests write the table the ways
something else could (another program, a delete, a late upload, a store split in two
parts of a file) and check that the next upload still sets what the ordering rule says.
Real moto server, real boto3; the stream is handed to check_stock as Lambda would.
"""

from __future__ import annotations

from typing import Any

from tests.aws_stack import Aws, FakeLambdaContext, stock, stream_event
from tests.conftest import csv_bytes

ITEMS = [("Berlin", f"Item {n:02d}", 10 + n) for n in range(20)]


def _loader(aws: Aws) -> Any:
    from stockwatch import bootstrap

    return bootstrap.aws()


def _upload(aws: Aws, loader: Any, key: str, second: int, rows: Any, status: str = "loaded") -> Any:
    from stockwatch.aws.s3_upload import S3Upload

    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=csv_bytes(*rows))
    report = loader.load(
        S3Upload(aws.bucket, key, f"{second:016X}", f"2026-11-27T10:00:{second:02d}.000Z")
    )
    assert report.status == status, report.to_json()
    return report


def _pump(aws: Aws) -> None:
    from stockwatch.handlers.checker import check_stock

    event = stream_event(aws)
    if event["Records"]:
        assert check_stock(event, FakeLambdaContext())["batchItemFailures"] == []


def _reads(report: Any) -> int:
    return int((report.cost or {})["dynamodb"]["requests"].get("BatchGetItem", 0))


def test_an_unchanged_reupload_reads_no_row_and_a_change_reads_only_its_own(aws: Aws) -> None:
    loader = _loader(aws)
    first = _upload(aws, loader, "a.csv", 1, ITEMS)
    assert _reads(first) == 1 and first.rows_loaded == 20
    again = _upload(aws, loader, "b.csv", 2, ITEMS)
    assert (_reads(again), again.rows_unchanged, again.rows_loaded) == (0, 20, 0)
    changed = [(s, i, c + 1 if i == "Item 07" else c) for s, i, c in ITEMS]
    third = _upload(aws, loader, "c.csv", 3, changed)
    assert (third.rows_unchanged, third.rows_loaded) == (19, 1)
    assert stock(aws)[("Berlin", "Item 07")] == 18
    fourth = _upload(aws, loader, "d.csv", 4, changed)
    assert (_reads(fourth), fourth.rows_unchanged) == (0, 20)


def test_a_row_written_by_another_program_is_not_vouched_for(aws: Aws) -> None:
    loader = _loader(aws)
    _upload(aws, loader, "a.csv", 1, ITEMS)
    _upload(aws, loader, "b.csv", 2, ITEMS)
    _pump(aws)
    # The lab's loader, or someone in the console: no Version.
    aws.dynamodb.put_item(
        TableName=aws.table,
        Item={"Store": {"S": "Berlin"}, "Item": {"S": "Item 03"}, "Count": {"N": "99"}},
    )
    _pump(aws)
    report = _upload(aws, loader, "c.csv", 3, ITEMS)
    assert stock(aws)[("Berlin", "Item 03")] == 13  # the newer upload's count
    assert report.rows_loaded == 1 and _reads(report) > 0
    # ... and the record stands again for the next one.
    _pump(aws)
    assert _reads(_upload(aws, loader, "d.csv", 4, ITEMS)) == 0


def test_a_deleted_row_comes_back_with_the_next_upload(aws: Aws) -> None:
    loader = _loader(aws)
    _upload(aws, loader, "a.csv", 1, ITEMS)
    _pump(aws)
    aws.dynamodb.delete_item(
        TableName=aws.table, Key={"Store": {"S": "Berlin"}, "Item": {"S": "Item 05"}}
    )
    _pump(aws)
    _upload(aws, loader, "b.csv", 2, ITEMS)
    assert stock(aws)[("Berlin", "Item 05")] == 15


def test_a_late_upload_cannot_leave_the_record_wrong(aws: Aws) -> None:
    """A late, older file may write items the newer file did not list; the record holds
    only the newer file's items, so what the late one wrote is read, not assumed."""
    loader = _loader(aws)
    _upload(aws, loader, "a.csv", 1, ITEMS)
    _upload(aws, loader, "b.csv", 3, ITEMS[:10])  # newer, lists half the items
    _upload(aws, loader, "late.csv", 2, [(s, i, 0) for s, i, _ in ITEMS])  # older, late
    held = stock(aws)
    assert held[("Berlin", "Item 02")] == 12  # the newer upload listed it: left alone
    assert held[("Berlin", "Item 15")] == 0  # only the late one is newer than upload 1
    _upload(aws, loader, "c.csv", 4, ITEMS)
    assert stock(aws) == {(s, i): c for s, i, c in ITEMS}


def test_a_store_in_two_parts_of_one_file(aws: Aws) -> None:
    """Its second part comes after its record was written (so do a snapshot's zeroes)."""
    loader = _loader(aws)
    split = [*ITEMS[:10], ("Hamburg", "Tap", 4), *ITEMS[10:]]
    _upload(aws, loader, "a.csv", 1, split)
    changed = [*((s, i, c + 1) for s, i, c in ITEMS[:10]), ("Hamburg", "Tap", 4), *ITEMS[10:]]
    _upload(aws, loader, "b.csv", 2, changed)
    expected = {(s, i): c for s, i, c in changed}
    assert stock(aws) == expected
    report = _upload(aws, loader, "c.csv", 3, changed)
    assert report.rows_unchanged == 21 and stock(aws) == expected


def _figures(aws: Aws, store: str) -> dict[str, str]:
    item = aws.dynamodb.get_item(
        TableName=aws.state_table, Key={"pk": {"S": "STORE"}, "sk": {"S": store}}
    )["Item"]
    return {k: v["N"] for k, v in item.items() if "N" in v}


def test_a_store_is_counted_again_only_when_an_item_changes_level(aws: Aws) -> None:
    loader = _loader(aws)
    _upload(aws, loader, "a.csv", 1, ITEMS)
    assert _figures(aws, "Berlin") == {"items": "20", "out_of_stock": "0", "low_stock": "0"}
    moved_within = [(s, i, c + 5 if i == "Item 04" else c) for s, i, c in ITEMS]
    quiet = _upload(aws, loader, "b.csv", 2, moved_within)
    queries = quiet.cost["dynamodb"]["requests"]["Query"]
    emptied = [(s, i, 0 if i == "Item 04" else c) for s, i, c in ITEMS]
    counted = _upload(aws, loader, "c.csv", 3, emptied)
    assert counted.cost["dynamodb"]["requests"]["Query"] == queries + 1  # the store's count
    assert _figures(aws, "Berlin")["out_of_stock"] == "1"


def test_a_repeat_in_a_later_chunk_is_reported_not_sent_twice(aws: Aws) -> None:
    """Rows are held across chunks; a repeat of a held row must not reach one BatchGetItem
    or one transaction twice (DynamoDB refuses both): it is reported as a repeat."""
    loader = _loader(aws)
    rows = [("Berlin", f"Item {n:04d}", n % 9) for n in range(1500)]
    rows.append(("Berlin", "Item 0005", 77))  # line 1502 repeats line 7, a chunk later
    report = _upload(aws, loader, "a.csv", 1, rows, "loaded_with_errors")
    assert (report.rows_loaded, report.rows_rejected) == (1500, 1)
    assert report.errors[0].line == 1502
    assert stock(aws)[("Berlin", "Item 0005")] == 5
