"""Delivery chaos: random sequences of 5 uploads of the same items, repeated and reordered.

Every upload is a full file of the same items (as a store's inventory file is), so whatever
the order, the final counts must be those of the newest upload. Checked after each
sequence: the final counts; one open out-of-stock alert exactly for the items at 0; as many
out-of-stock alerts per item as the item had changes into 0; every alert in exactly one
notification.

    python -m tests.reliability.chaos --sequences 200 --seed 1            (embedded)
    pytest tests/test_reliability_chaos.py                                (both backends)
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stockwatch.service.commands import Upload

STORES = 2
ITEMS = 3
UPLOADS = 5


@dataclass
class ChaosFigures:
    backend: str
    sequences: int = 0
    deliveries: int = 0
    repeats: int = 0
    out_of_order: int = 0
    concurrent: int = 0
    wrong_final: int = 0
    missed_alerts: int = 0
    duplicate_alerts: int = 0
    duplicate_notifications: int = 0
    lost_notifications: int = 0
    failures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def ok(self) -> bool:
        return not (
            self.wrong_final
            or self.missed_alerts
            or self.duplicate_alerts
            or self.duplicate_notifications
            or self.lost_notifications
        )


def make_uploads(rng: random.Random, prefix: str) -> list[dict[tuple[str, str], int]]:
    keys = [(f"{prefix}S{s}", f"Item {i}") for s in range(STORES) for i in range(ITEMS)]
    return [{key: rng.choice([0, 0, 1, 2, 5, 9]) for key in keys} for _ in range(UPLOADS)]


def as_csv(counts: dict[tuple[str, str], int], rng: random.Random) -> bytes:
    rows = list(counts.items())
    rng.shuffle(rows)
    return ("store,item,count\n" + "".join(f"{s},{i},{c}\n" for (s, i), c in rows)).encode()


def delivery_order(rng: random.Random, n: int) -> list[int]:
    """Each of n deliveries one to three times, shuffled."""
    order = [k for k in range(n) for _ in range(rng.randint(1, 3))]
    rng.shuffle(order)
    return order


def transitions_into_zero(counts: list[int]) -> int:
    """How many times a sequence of applied counts went to 0 from something else."""
    into = 0
    previous: int | None = None
    for count in counts:
        if count == 0 and previous != 0:
            into += 1
        previous = count
    return into


# -- embedded ---------------------------------------------------------------------------


def embedded_sequence(figures: ChaosFigures, rng: random.Random, workdir: Path, n: int) -> None:
    from stockwatch.sqlite.backend import SqliteBackend

    uploads = make_uploads(rng, "")
    data_dir = workdir / f"seq-{n}"
    first = SqliteBackend(data_dir, channel_names=("webhook",))
    second = SqliteBackend(data_dir, channel_names=("webhook",))
    try:
        ids = [
            first.receive(Upload(f"u{k}.csv"), io.BytesIO(as_csv(u, rng)))
            for k, u in enumerate(uploads)
        ]
        order = delivery_order(rng, len(ids))
        figures.deliveries += len(order)
        figures.repeats += len(order) - len(ids)
        seen: set[int] = set()
        for k in order:
            if any(j > k for j in seen):
                figures.out_of_order += 1
            if k in seen or rng.random() < 0.2:
                # The same upload taken by two workers at once (two processes on one data dir).
                figures.concurrent += 1
                threads = [
                    threading.Thread(target=app.process_upload, args=(ids[k],))
                    for app in (first, second)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            else:
                first.process_upload(ids[k])
            seen.add(k)
        conn = first.conn
        final = {(s, i): c for s, i, c in conn.execute("SELECT store, item, count FROM inventory")}
        newest = uploads[-1]
        if final != newest:
            figures.wrong_final += 1
            figures.failures.append(f"embedded {n}: final {final} != newest {newest}")
        for key, count in newest.items():
            applied = [
                c
                for (c,) in conn.execute(
                    "SELECT new_count FROM changes WHERE store = ? AND item = ? ORDER BY seq", key
                )
            ]
            raised = conn.execute(
                "SELECT count(*) FROM alerts"
                " WHERE store = ? AND item = ? AND kind = 'out_of_stock'",
                key,
            ).fetchone()[0]
            expected = transitions_into_zero(applied)
            figures.missed_alerts += max(0, expected - raised)
            figures.duplicate_alerts += max(0, raised - expected)
            open_now = conn.execute(
                "SELECT count(*) FROM alerts WHERE store = ? AND item = ?"
                " AND kind = 'out_of_stock' AND resolved_at IS NULL",
                key,
            ).fetchone()[0]
            if open_now != (1 if count == 0 else 0):
                figures.failures.append(f"embedded {n}: {key} open alerts {open_now}")
                figures.duplicate_alerts += 1
        notified = sum(
            json.loads(p)["total"]
            for (p,) in conn.execute("SELECT payload FROM outbox WHERE channel = 'webhook'")
        )
        (alerts,) = conn.execute(
            "SELECT count(*) FROM alerts WHERE kind IN ('out_of_stock', 'back_in_stock')"
        ).fetchone()
        figures.duplicate_notifications += max(0, notified - alerts)
        figures.lost_notifications += max(0, alerts - notified)
        (rows,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
        (uploads_with_alerts,) = conn.execute(
            "SELECT count(DISTINCT upload_id) FROM alerts"
        ).fetchone()
        if rows != uploads_with_alerts:
            figures.duplicate_notifications += max(0, rows - uploads_with_alerts)
            figures.failures.append(f"embedded {n}: {rows} outbox rows")
    finally:
        first.close()
        second.close()
    figures.sequences += 1


def run_embedded(sequences: int, seed: int, workdir: Path) -> ChaosFigures:
    figures = ChaosFigures("embedded")
    rng = random.Random(seed)
    for n in range(sequences):
        embedded_sequence(figures, rng, workdir, n)
    return figures


# -- AWS (moto) ---------------------------------------------------------------------------


def aws_sequence(figures: ChaosFigures, rng: random.Random, aws: Any, n: int) -> None:
    from stockwatch.aws.s3_upload import S3Upload
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory
    from tests.aws_stack import FakeLambdaContext, alert_log, s3_event, stream_event

    uploads = make_uploads(rng, f"q{n}-")
    events = []
    for counts in uploads:
        key = f"seq{n}/{rng.choice(['a', 'b'])}.csv"
        aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=as_csv(counts, rng))
        events.append(s3_event(aws))
    versions = [
        S3Upload(
            aws.bucket,
            e["Records"][0]["s3"]["object"]["key"],
            e["Records"][0]["s3"]["object"].get("sequencer", ""),
            e["Records"][0]["eventTime"],
        ).version
        for e in events
    ]
    newest = uploads[max(range(len(uploads)), key=lambda k: versions[k])]
    order = delivery_order(rng, len(events))
    figures.deliveries += len(order)
    figures.repeats += len(order) - len(events)
    seen: set[int] = set()
    context = FakeLambdaContext()
    for k in order:
        if any(versions[j] > versions[k] for j in seen):
            figures.out_of_order += 1
        load_inventory(events[k], context)
        seen.add(k)
        batch = stream_event(aws)
        check_stock(batch, context)
        records = batch["Records"]
        if records and rng.random() < 0.5:  # a retried batch: a suffix delivered again
            figures.repeats += 1
            check_stock({"Records": records[rng.randrange(len(records)) :]}, context)
    stock = {
        (i["Store"]["S"], i["Item"]["S"]): (int(i["Count"]["N"]), i.get("History", {}).get("S"))
        for i in aws.dynamodb.scan(
            TableName=aws.table,
            FilterExpression="begins_with(#s, :p)",
            ExpressionAttributeNames={"#s": "Store"},
            ExpressionAttributeValues={":p": {"S": f"q{n}-"}},
        )["Items"]
    }
    final = {key: count for key, (count, _) in stock.items()}
    if final != newest:
        figures.wrong_final += 1
        figures.failures.append(f"aws {n}: final {final} != newest {newest}")
    log = alert_log(aws)
    for row_key, (count, history) in stock.items():
        applied = [new for _, new, _ in json.loads(history or "[]")]
        raised = sum(
            1 for d in log if (d["store"], d["item"]) == row_key and d["kind"] == "out_of_stock"
        )
        expected = transitions_into_zero(applied)
        figures.missed_alerts += max(0, expected - raised)
        figures.duplicate_alerts += max(0, raised - expected)
        open_now = aws.dynamodb.query(
            TableName=aws.state_table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"ALERT#{row_key[0]}\x1f{row_key[1]}"}},
        )["Items"]
        if len([a for a in open_now if a["sk"]["S"] == "out_of_stock"]) != (count == 0):
            figures.failures.append(f"aws {n}: {row_key} open alerts {open_now}")
            figures.duplicate_alerts += 1
    figures.sequences += 1


def notified_lines(aws: Any) -> Counter[str]:
    """Lines '<store> is out of stock of <item>' of every SNS message the subscriber got."""
    from tests.aws_stack import digests

    lines: Counter[str] = Counter()
    for message in digests(aws):
        for line in message["Message"].splitlines():
            if " is out of stock of " in line or " is back in stock" in line:
                lines[line.strip().removeprefix("- ")] += 1
    return lines


def run_aws(aws: Any, sequences: int, seed: int) -> ChaosFigures:
    from tests.aws_stack import alert_log

    figures = ChaosFigures("aws")
    rng = random.Random(seed)
    for n in range(sequences):
        aws_sequence(figures, rng, aws, n)
    raised: Counter[str] = Counter()
    for decision in alert_log(aws):
        if not decision["notified"]:
            figures.lost_notifications += 1
        if decision["kind"] == "out_of_stock":
            raised[f"{decision['store']} is out of stock of {decision['item']}"] += 1
    lines = notified_lines(aws)
    out_lines = Counter({k: v for k, v in lines.items() if " is out of stock of " in k})
    figures.duplicate_notifications += sum((out_lines - raised).values())
    figures.lost_notifications += sum((raised - out_lines).values())
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stockwatch-chaos-") as tmp:
        figures = run_embedded(args.sequences, args.seed, Path(tmp))
    print(json.dumps(figures.to_json()))
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
