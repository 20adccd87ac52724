"""The ``stockwatch`` command, run as a real process on a real data directory."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Receiver, cli_in_process, csv_bytes, sample


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """In process (``tests.conftest.cli_in_process``); the terminal test starts a real one."""
    return cli_in_process(*args, env=env)


def run_json(*args: str, **kwargs: Any) -> Any:
    result = run(*args, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def berlin() -> Path:
    return sample("inventory-berlin.csv")


def test_ingest_stock_alerts_json(tmp_path: Path, berlin: Path) -> None:
    data = str(tmp_path / "data")
    (report,) = run_json("--data-dir", data, "ingest", "--json", str(berlin))
    assert set(report) >= {
        "file",
        "upload_id",
        "status",
        "rows_loaded",
        "rows_unchanged",
        "rows_rejected",
        "errors",
        "alerts",
    }
    assert (report["status"], report["rows_loaded"]) == ("loaded", 6)
    stock = run_json("--data-dir", data, "stock", "--json")
    assert len(stock) == 6 and set(stock[0]) == {
        "store",
        "item",
        "sku",
        "count",
        "updated_at",
        "status",
        "daily_usage",
        "days_of_cover",
        "runs_out_on",
    }
    out = run_json("--data-dir", data, "stock", "--json", "--out-of-stock", "--store", "Berlin")
    assert [(r["store"], r["item"], r["count"]) for r in out] == [("Berlin", "Echo Plus", 0)]
    (alert,) = run_json("--data-dir", data, "alerts", "--open", "--json")
    assert set(alert) >= {"id", "kind", "store", "item", "count", "raised_at", "resolved_at"}
    assert (alert["kind"], alert["resolved_at"]) == ("out_of_stock", None)
    (upload,) = run_json("--data-dir", data, "uploads", "--json")
    assert upload["status"] == "loaded"
    assert upload["cost"]["time_ms"] > 0 and upload["cost"]["usd"] is None  # nothing billed
    shown = run("--data-dir", data, "report", str(upload["id"]))
    assert shown.returncode == 0 and "cost: " in shown.stdout and " s" in shown.stdout
    history = run_json("--data-dir", data, "history", "Berlin", "Echo Plus", "--json")
    assert [h["count"] for h in history] == [0]
    again = run("--data-dir", data, "ingest", str(berlin))
    assert again.returncode == 0
    assert "6 rows unchanged" in again.stdout
    assert "out of stock" not in again.stderr  # nothing alerted twice


def test_bad_rows_exit_1_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(("Berlin", "Echo Dot", 3), ("Berlin", "Echo Show", "twelve")))
    result = run("--data-dir", str(tmp_path / "d"), "ingest", str(bad))
    assert result.returncode == 1
    assert 'bad.csv:3: count "twelve" is not a whole number' in result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    stock = run_json("--data-dir", str(tmp_path / "d"), "stock", "--json")
    assert [r["item"] for r in stock] == ["Echo Dot"]


def test_a_binary_file_gets_one_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "inventory.xlsx"
    bad.write_bytes(b"PK\x03\x04" + bytes(200))
    result = run("--data-dir", str(tmp_path / "d"), "ingest", str(bad))
    assert result.returncode == 1
    assert "inventory.xlsx: rejected" in result.stdout
    assert "ZIP archive" in result.stdout and "Traceback" not in result.stderr


def test_strict_flag_and_setting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(("Berlin", "Echo Dot", 3), ("Berlin", "Echo Show", "2.5")))
    data = str(tmp_path / "d")
    (report,) = json.loads(run("--data-dir", data, "ingest", "--strict", "--json", str(bad)).stdout)
    assert (report["status"], report["rows_loaded"]) == ("rejected", 0)
    (report,) = json.loads(
        run("--data-dir", data, "ingest", "--json", str(bad), env={"STOCKWATCH_STRICT": "1"}).stdout
    )
    assert report["status"] == "rejected"


def test_validate_writes_nothing(tmp_path: Path, berlin: Path) -> None:
    data = tmp_path / "d"
    (report,) = run_json("--data-dir", str(data), "validate", "--json", str(berlin))
    assert (report["status"], report["rows_loaded"], report["upload_id"]) == ("loaded", 6, None)
    assert report["alerts"][0]["item"] == "Echo Plus"
    assert not data.exists()
    run_json("--data-dir", str(data), "ingest", "--json", str(berlin))
    (report,) = run_json("--data-dir", str(data), "validate", "--json", str(berlin))
    assert (report["rows_loaded"], report["rows_unchanged"], report["alerts"]) == (0, 6, [])
    assert len(run_json("--data-dir", str(data), "uploads", "--json")) == 1


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    for args in (
        ["--bogus", "stock"],
        ["ingest"],
        ["ingest", str(tmp_path / "missing.csv")],
        ["stock", "--limit", "zero"],
        ["thresholds", "set", "B", "E", "-1"],
    ):
        result = run("--data-dir", str(tmp_path / "d"), *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert "Error" in result.stderr


def test_an_unusable_data_dir_is_a_clear_message(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run("--data-dir", str(not_a_dir / "d"), "stock")
    assert result.returncode == 2
    assert "cannot create the data directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_dir_from_the_environment(tmp_path: Path, berlin: Path) -> None:
    env = {"STOCKWATCH_DATA_DIR": str(tmp_path / "env-data")}
    run_json("ingest", "--json", str(berlin), env=env)
    assert (tmp_path / "env-data" / "stockwatch.db").exists()


def test_thresholds_commands(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    assert run("--data-dir", data, "thresholds", "set", "Berlin", "*", "5", "--new").returncode == 0
    csv_file = tmp_path / "minimums.csv"
    csv_file.write_text("store,item,minimum\n*,Echo Dot,3\nPusan,Echo Show,8\n")
    imported = run("--data-dir", data, "thresholds", "import", str(csv_file), "--new")
    assert imported.returncode == 0 and "imported 2 thresholds" in imported.stdout
    rows = run_json("--data-dir", data, "thresholds", "list", "--json")
    assert [(r["store"], r["item"], r["minimum"]) for r in rows] == [
        ("*", "Echo Dot", 3),
        ("Berlin", "*", 5),
        ("Pusan", "Echo Show", 8),
    ]
    inventory = tmp_path / "inv.csv"
    inventory.write_bytes(csv_bytes(("Berlin", "Echo Look", 4)))
    (report,) = json.loads(run("--data-dir", data, "ingest", "--json", str(inventory)).stdout)
    assert report["alerts"] == [
        {"kind": "low_stock", "store": "Berlin", "item": "Echo Look", "count": 4, "minimum": 5}
    ]
    assert run("--data-dir", data, "thresholds", "delete", "Berlin", "*").returncode == 0
    assert run("--data-dir", data, "thresholds", "delete", "Berlin", "*").returncode == 2
    bad = tmp_path / "bad-minimums.csv"
    bad.write_text("store,item,minimum\nB,E,lots\n")
    failed = run("--data-dir", data, "thresholds", "import", str(bad))
    assert failed.returncode == 1 and 'bad-minimums.csv:2: minimum "lots"' in failed.stderr


def test_webhook_and_process_retry_pending_notifications(
    tmp_path: Path, berlin: Path, receiver: Receiver
) -> None:
    data = str(tmp_path / "d")
    down = run(
        "--data-dir",
        data,
        "ingest",
        str(berlin),
        env={"STOCKWATCH_WEBHOOK_URL": "http://127.0.0.1:9/hook"},
    )
    assert down.returncode == 0
    assert "notification not delivered yet, will retry" in down.stderr
    still_down = run(
        "--data-dir", data, "process", env={"STOCKWATCH_WEBHOOK_URL": "http://127.0.0.1:9/hook"}
    )
    assert still_down.returncode == 1 and "still pending: 1" in still_down.stdout
    done = run_json(
        "--data-dir", data, "process", "--json", env={"STOCKWATCH_WEBHOOK_URL": receiver.url}
    )
    assert done["notifications"] == {"sent": 1, "failed": 0, "pending": 0}
    assert (
        run_json(
            "--data-dir", data, "process", "--json", env={"STOCKWATCH_WEBHOOK_URL": receiver.url}
        )["notifications"]["sent"]
        == 0
    )
    (body,) = receiver.received
    assert "Berlin is out of stock of Echo Plus" in body["text"]
    assert body["alerts"][0]["item"] == "Echo Plus"


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(
        csv_bytes(*((f"Store {s}", f"Item {i}", 3) for s in range(60) for i in range(1000)))
    )
    quiet = run("--data-dir", str(tmp_path / "a"), "ingest", str(big))
    assert quiet.returncode == 0 and "loading big.csv" not in quiet.stderr
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKWATCH_")}
    env["COLUMNS"] = "100"
    proc = subprocess.run(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(tmp_path / "b"), "ingest", str(big)],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        timeout=120,
    )
    os.close(follower)
    seen = b""
    try:
        while chunk := os.read(leader, 65536):
            seen += chunk
    except OSError:
        pass
    os.close(leader)
    assert proc.returncode == 0
    assert b"loading big.csv" in seen


def test_demo_shows_the_product_and_loads_once(tmp_path: Path) -> None:
    """Three weeks of dated counts and thresholds: some items out, some low, some running
    out, histories with a shape; a second run adds no upload."""
    data = str(tmp_path / "demo")
    result = run("--data-dir", data, "demo")
    assert result.returncode == 0, result.stderr
    assert "26 uploads over 21 days: 6 items out of stock, 6 low" in result.stdout
    assert " is out of stock of " not in result.stderr  # the report says it, once
    stock = run_json("--data-dir", data, "stock", "--json")
    assert len(stock) == 36
    assert sum(r["status"] == "low_stock" for r in stock) == 6
    running_out = [r for r in stock if r["count"] > 0 and (r["days_of_cover"] or 99) < 3]
    assert len(running_out) >= 3
    alerts = run_json("--data-dir", data, "alerts", "--json")
    kinds = {a["kind"] for a in alerts}
    assert kinds >= {"out_of_stock", "low_stock", "running_out"}
    assert any(a["resolved_at"] for a in alerts)  # restocked along the way
    history = run_json("--data-dir", data, "history", "Berlin", "Echo Dot", "--json")
    assert len(history) >= 10 and len({h["count"] for h in history}) >= 5
    again = run("--data-dir", data, "demo")
    assert again.returncode == 0 and "added nothing" in again.stdout
    assert len(run_json("--data-dir", data, "uploads", "--json")) == 26


def test_ingest_as_of_dates_the_counts_and_refuses_a_bad_time(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    today = tmp_path / "today.csv"
    today.write_bytes(csv_bytes(("Berlin", "Echo Dot", 5)))
    old = tmp_path / "old.csv"
    old.write_bytes(csv_bytes(("Berlin", "Echo Dot", 40)))
    run_json("--data-dir", data, "ingest", str(today), "--json")
    (report,) = run_json(
        "--data-dir", data, "ingest", "--as-of", "2026-11-20T09:00+01:00", str(old), "--json"
    )
    assert report["as_of"] == "2026-11-20T08:00:00.000Z"
    assert report["rows_superseded"] == 1
    (row,) = run_json("--data-dir", data, "stock", "--json")
    assert row["count"] == 5
    for bad, says in (("yesterday", "not a time"), ("2999-01-01", "in the future")):
        result = run("--data-dir", data, "ingest", "--as-of", bad, str(old))
        assert result.returncode == 2
        assert says in result.stderr and "Traceback" not in result.stderr


def test_reading_commands_take_one_format_and_suggest_names(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    path = tmp_path / "b.csv"
    path.write_bytes(csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", 4)))
    run("--data-dir", data, "ingest", str(path))
    for command in (["stock"], ["alerts"], ["uploads"], ["thresholds", "list"], ["mutes"]):
        lines = run("--data-dir", data, *command, "--nl").stdout.splitlines()
        assert all(json.loads(line) for line in lines), command
        both = run("--data-dir", data, *command, "--json", "--nl")
        assert both.returncode == 2 and "exclude each other" in both.stderr, command
    csv_text = run("--data-dir", data, "stock", "--csv").stdout
    assert csv_text.splitlines()[0].startswith("store,item,sku,count,status")
    wrong = run("--data-dir", data, "stock", "--store", "berlin")
    assert wrong.returncode == 1
    assert 'no store named "berlin"; did you mean "Berlin"?' in wrong.stderr
    missing = run("--data-dir", data, "history", "Berlin", "Echo Shw")
    assert missing.returncode == 1 and '"Echo Show"' in missing.stderr
    table = run("--data-dir", data, "stock", env={"COLUMNS": "60"}).stdout
    assert "out_of_stock" in table and "…" not in table  # a status is never cut


def test_alerts_ack_mute_and_a_held_snapshot_from_the_cli(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    full = tmp_path / "full.csv"
    full.write_bytes(
        csv_bytes(("Pusan", "A", 0), ("Pusan", "B", 3), ("Pusan", "C", 5), ("Pusan", "D", 6))
    )
    run("--data-dir", data, "ingest", str(full))
    (alert,) = run_json("--data-dir", data, "alerts", "--open", "--json")
    ack = run("--data-dir", data, "alerts", "ack", str(alert["id"]), "--note", "ordered")
    assert ack.returncode == 0, ack.stderr
    (acked,) = run_json("--data-dir", data, "alerts", "--json")
    assert acked["ack_note"] == "ordered"
    mute = run("--data-dir", data, "mute", "Pusan", "*", "--until", "2999-01-01")
    assert mute.returncode == 0 and "muted until 2999-01-01" in mute.stdout
    setting = run("--data-dir", data, "thresholds", "set", "Pusan", "*", "4", "--cover-days", "3")
    assert "raised low on stock (1): Pusan / B" in setting.stdout

    short = tmp_path / "short.csv"
    short.write_bytes(csv_bytes(("Pusan", "E", 1)))  # B, C and D left out: 3 of 4
    held = run("--data-dir", data, "ingest", "--snapshot", str(short))
    assert held.returncode == 1 and "needs confirmation" in held.stdout
    assert "stockwatch confirm 2" in held.stdout
    done = run("--data-dir", data, "confirm", "2")
    assert done.returncode == 0, done.stderr
    assert "snapshot: set 3 left-out items to 0: Pusan / B, Pusan / C, Pusan / D" in done.stdout
    again = run("--data-dir", data, "discard", "2")
    assert again.returncode == 2 and "not waiting for confirmation" in again.stderr


def test_writes_naming_an_unknown_store_or_item_are_refused(tmp_path: Path, berlin: Path) -> None:
    """#27: a threshold, mute or snapshot default for "Berln" was taken and never applied."""
    data = str(tmp_path / "data")
    run_json("--data-dir", data, "ingest", "--json", str(berlin))
    for args, says in (
        (("thresholds", "set", "Berln", "*", "5"), 'did you mean "Berlin"'),
        (("mute", "Berlin", "Echo Dto", "--until", "7d"), 'did you mean "Echo Dot"'),
        (("snapshot-default", "Berln", "--on"), 'did you mean "Berlin"'),
        (("thresholds", "set", "*", "Echo Dto", "5"), 'did you mean "Echo Dot"'),
    ):
        refused = run("--data-dir", data, *args)
        assert refused.returncode == 1 and says in refused.stderr, (args, refused.stderr)
    minimums = tmp_path / "minimums.csv"
    minimums.write_text("store,item,minimum\nBerlin,Echo Dot,5\nBerln,*,3\n")
    refused = run("--data-dir", data, "thresholds", "import", str(minimums))
    assert refused.returncode == 1 and 'minimums.csv: no store named "Berln"' in refused.stderr
    assert run_json("--data-dir", data, "thresholds", "list", "--json") == []
    assert (
        run("--data-dir", data, "thresholds", "set", "Hamburg", "*", "5", "--new").returncode == 0
    )
    assert run("--data-dir", data, "thresholds", "set", "*", "*", "2").returncode == 0
    kept = run(
        "--data-dir", data, "thresholds", "set", "Berlin", "Echo Dot", "3", "--cover-days", "4"
    )
    assert kept.returncode == 0
    assert run("--data-dir", data, "thresholds", "set", "Berlin", "Echo Dot", "6").returncode == 0
    listed = run_json("--data-dir", data, "thresholds", "list", "--json")
    assert {(t["store"], t["item"], t["minimum"], t["cover_days"]) for t in listed} == {
        ("Hamburg", "*", 5, None),
        ("*", "*", 2, None),
        ("Berlin", "Echo Dot", 6, 4),  # the new minimum kept the cover days
    }


def test_tables_fit_narrow_terminals_without_cutting_a_name(tmp_path: Path) -> None:
    """#27: at 60 columns names were folded into slivers, statuses ended in "…", and at 40
    store and item vanished. Nothing is cut or wrapped now, at 40, 60 or 80 columns."""
    data = str(tmp_path / "data")
    store, item = "Springfield Mall North", "Echo Show 8 (2nd Gen) Charcoal"
    inventory = tmp_path / "springfield-mall-north-inventory.csv"
    inventory.write_bytes(csv_bytes((store, item, 0), (store, "Echo Dot", 7)))
    run_json("--data-dir", data, "ingest", "--json", str(inventory))
    for width in (40, 60, 80):
        env = {"COLUMNS": str(width)}
        for args, whole in (
            (("stock",), [store, item, "out_of_stock", "Echo Dot"]),
            (("alerts",), [item, "out_of_stock"]),
            (("uploads",), [inventory.name, "loaded"]),
        ):
            shown = run("--data-dir", data, *args, env=env)
            assert shown.returncode == 0, shown.stderr
            lines = shown.stdout.splitlines()
            assert all(len(line) <= width or any(w in line for w in whole) for line in lines)
            for word in whole:
                assert any(word in line for line in lines), (width, args, word, shown.stdout)
            assert "…" not in shown.stdout
    # At 80 the empty cover column goes first, then the time; the names stay whole.
    at_80 = run("--data-dir", data, "stock", env={"COLUMNS": "80"}).stdout.splitlines()
    assert at_80[0].split() == ["store", "item", "count", "status"]


def test_validate_previews_a_snapshot_and_a_store_s_default(tmp_path: Path, berlin: Path) -> None:
    """#27: `validate` crashed ("seek of closed file") whenever a store's snapshot default
    was on, and could not preview a snapshot at all."""
    data = str(tmp_path / "data")
    run_json("--data-dir", data, "ingest", "--json", str(berlin))
    short = tmp_path / "short.csv"
    short.write_bytes(csv_bytes(("Berlin", "Echo Dot", 12)))
    held = run("--data-dir", data, "validate", "--snapshot", "--json", str(short))
    assert held.returncode == 1  # as ingest would: held for confirmation
    (preview,) = json.loads(held.stdout)
    assert preview["status"] == "needs_confirmation" and preview["rows_zeroed"] == 4  # 1 is 0
    shown = run("--data-dir", data, "validate", "--snapshot", str(short))
    assert "would set 4 left-out items to 0" in shown.stdout
    assert run("--data-dir", data, "snapshot-default", "Berlin", "--on").returncode == 0
    kept = run("--data-dir", data, "validate", str(berlin))
    assert kept.returncode == 0 and "Traceback" not in kept.stderr
    assert "6 rows unchanged" in kept.stdout
    assert len(run_json("--data-dir", data, "uploads", "--json")) == 1  # nothing kept


def test_ingest_says_what_it_raised_once(tmp_path: Path, berlin: Path) -> None:
    """#27: the digest was printed by the log channel and again by the report."""
    done = run("--data-dir", str(tmp_path / "data"), "ingest", str(berlin))
    assert done.stdout.count("Echo Plus") == 1 and "Echo Plus" not in done.stderr


def test_layouts_and_store_system_exports(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    names = [x["name"] for x in run_json("layouts", "--json")]
    assert names == ["stockwatch", "shopify", "square", "lightspeed-x", "lightspeed-r"]
    listed = run("layouts")
    assert listed.returncode == 0 and "Current Quantity <location>" in listed.stdout
    square = str(sample("exports/square-item-library.csv"))
    (report,) = run_json("--data-dir", data, "ingest", "--json", square)
    assert (report["layout"], report["rows_loaded"]) == ("square", 5)
    shown = run("--data-dir", data, "validate", str(sample("exports/lightspeed-r-items.csv")))
    assert shown.returncode == 0 and "read as: lightspeed-r layout" in shown.stdout
    unknown = run("--data-dir", data, "ingest", "--layout", "bogus", square)
    assert unknown.returncode == 2 and "the layouts are stockwatch, shopify" in unknown.stderr
    till = tmp_path / "till.csv"
    till.write_text("Article;Qty\nEcho Dot;4\n")
    refused = run("--data-dir", data, "ingest", str(till))
    assert refused.returncode == 1
    assert '--columns "item=Article,count=Qty"' in refused.stdout + refused.stderr
    mapped = run_json(
        "--data-dir",
        data,
        "ingest",
        "--json",
        "--columns",
        "item=Article,count=Qty",
        "--store",
        "Hamburg",
        str(till),
    )
    assert (mapped[0]["rows_loaded"], mapped[0]["layout"]) == (1, "columns")
    bad = run("--data-dir", data, "ingest", "--columns", "item=Article", str(till))
    assert bad.returncode == 2 and "count= is missing" in bad.stderr


def test_reorder_orders_ordering_and_backtest(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    for day, count in enumerate((40, 35, 30, 25, 20), start=1):
        path = tmp_path / f"b{day}.csv"
        path.write_bytes(csv_bytes(("Berlin", "Echo Dot", count)))
        as_of = f"2026-11-0{day}T08:00:00Z"
        assert run("--data-dir", data, "ingest", str(path), "--as-of", as_of).returncode == 0
    done = run("--data-dir", data, "ordering", "set", "Berlin", "Echo Dot", "--pack", "12")
    assert done.returncode == 0 and "pack 12" in done.stdout, done.stderr
    wrong = run("--data-dir", data, "ordering", "set", "Berlin", "Echo Dt", "--pack", "12")
    assert wrong.returncode == 1 and 'did you mean "Echo Dot"' in wrong.stderr
    bad = run("--data-dir", data, "ordering", "set", "Berlin", "*", "--service-level", "100")
    assert bad.returncode == 2 and "--service-level" in bad.stderr
    assert run_json("--data-dir", data, "ordering", "--json")[0]["pack"] == 12
    run("--data-dir", data, "ordering", "set", "Berlin", "*", "--lead-days", "2")
    removed = run("--data-dir", data, "ordering", "delete", "Berlin", "*")
    assert removed.returncode == 0
    assert "removed the ordering settings of Berlin / *" in removed.stdout

    (line,) = run_json("--data-dir", data, "reorder", "--json")
    assert (line["order_up_to"], line["suggested"], line["method"]) == (70, 60, "mean")
    csv_text = run("--data-dir", data, "reorder", "--csv").stdout
    assert csv_text.splitlines()[0].startswith("store,item,sku,on_hand,on_order,daily_demand")

    added = run("--data-dir", data, "orders", "add", "Berlin", "Echo Dot", "24")
    assert added.returncode == 0 and added.stdout.startswith("order 1: 24 x Echo Dot")
    (line,) = run_json("--data-dir", data, "reorder", "--json")
    assert (line["on_order"], line["suggested"]) == (24, 36)
    assert run("--data-dir", data, "orders", "receive", "1").returncode == 0
    again = run("--data-dir", data, "orders", "receive", "1")
    assert again.returncode == 1 and "no open order 1" in again.stderr
    assert run_json("--data-dir", data, "orders", "--json") == []

    result = run_json("--data-dir", data, "backtest", "--json", "--days", "28")
    assert result["policies"]["order_up_to"]["items"] == 1
    table = run("--data-dir", data, "backtest").stdout
    assert "order-up-to" in table and "fill rate" in table
