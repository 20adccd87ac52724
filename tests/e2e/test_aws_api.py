"""``stockwatch.handlers.api`` driven with API Gateway HTTP API (payload 2.0) events.

The stack is the one infra/template.yaml deploys into moto (tests/aws_stack.py); the
handler runs in this process with the deployed ApiFunction's environment, its token in
moto's SSM. Moto cannot run API Gateway's proxying to Lambda, so the test builds the
events API Gateway would send; everything behind the handler is real.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.aws_stack import Aws, FakeLambdaContext, s3_event, stream_event
from tests.conftest import csv_bytes

TOKEN = "a-token-long-enough-for-the-api"


def gateway_event(
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = TOKEN,
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0, as the $default route sends it."""
    sent = {"host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": sent,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": sent["host"],
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": f"req-{now}",
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    return event


def call(event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    from stockwatch.handlers.web import api

    # The runtime's context is stood in for: only its attributes are read.
    response = api(event, FakeLambdaContext())  # type: ignore[arg-type]
    raw = response.get("body", "")
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    content_type = response["headers"].get("content-type", "")
    body = json.loads(raw) if content_type.startswith("application/json") else raw
    return response["statusCode"], body, response["headers"]


@pytest.fixture
def stack(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    import stockwatch.handlers.web as handlers

    aws.client("secretsmanager").put_secret_value(
        SecretId=os.environ["STOCKWATCH_TOKEN_SECRET_ARN"], SecretString=TOKEN
    )
    monkeypatch.setattr(handlers, "_api", None)  # a cold start for each test
    monkeypatch.setattr(handlers, "_unavailable", None)
    return aws


def run_pipeline(aws: Aws) -> dict[str, Any]:
    """What the S3 trigger and the stream trigger would do after an object lands."""
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory

    (report,) = load_inventory(s3_event(aws), FakeLambdaContext())["reports"]
    check_stock(stream_event(aws), FakeLambdaContext())
    return dict(report)


def test_dashboard_and_reads_through_api_gateway(stack: Aws) -> None:
    stack.s3.put_object(
        Bucket=stack.bucket,
        Key="berlin.csv",
        Body=csv_bytes(("Berlin", "Echo Dot", 12), ("Berlin", "Echo Plus", 0)),
    )
    run_pipeline(stack)
    stack.s3.put_object(
        Bucket=stack.bucket, Key="berlin.csv", Body=csv_bytes(("Berlin", "Echo Dot", 3))
    )
    run_pipeline(stack)

    status, page, headers = call(gateway_event("GET", "/", token=None))
    assert status == 200 and "<title>" in page and headers["content-type"].startswith("text/html")
    assert call(gateway_event("GET", "/api/stores", token=None))[0] == 401
    assert call(gateway_event("GET", "/api/stores", token="wrong-token-of-some-length"))[0] == 401
    assert call(gateway_event("GET", "/api/events"))[0] == 404  # no live feed; it polls

    status, stores, _ = call(gateway_event("GET", "/api/stores"))
    assert status == 200
    assert [(s["store"], s["items"], s["out_of_stock"]) for s in stores] == [("Berlin", 2, 1)]

    status, stock, _ = call(gateway_event("GET", "/api/stock", {"store": "Berlin"}))
    assert [(r["item"], r["count"], r["status"]) for r in stock["rows"]] == [
        ("Echo Dot", 3, "ok"),
        ("Echo Plus", 0, "out_of_stock"),
    ]
    _, only_out, _ = call(gateway_event("GET", "/api/stock", {"status": "out_of_stock"}))
    assert [r["item"] for r in only_out["rows"]] == ["Echo Plus"]
    _, searched, _ = call(gateway_event("GET", "/api/stock", {"q": "dot"}))
    assert [r["item"] for r in searched["rows"]] == ["Echo Dot"]

    # What the two uploads cost, each and for the day (the dashboard's running total).
    _, uploads, _ = call(gateway_event("GET", "/api/uploads"))
    costs = [u["cost"] for u in uploads["uploads"]]
    assert all(c["usd"] > 0 and c["dynamodb"]["requests"]["BatchGetItem"] for c in costs)
    assert costs[1]["sns"]["publishes"] == 1  # the first upload's digest, from CheckStock
    status, (today,), _ = call(gateway_event("GET", "/api/costs"))
    assert status == 200 and today["uploads"] == 2
    assert today["usd"] == pytest.approx(sum(c["usd"] for c in costs))

    status, history, _ = call(gateway_event("GET", "/api/stock/Berlin/Echo%20Dot/history"))
    assert status == 200
    assert [(p["old_count"], p["count"]) for p in history] == [(None, 12), (12, 3)]
    assert call(gateway_event("GET", "/api/stock/Berlin/Nothing/history"))[0] == 404

    _, open_alerts, _ = call(gateway_event("GET", "/api/alerts", {"open": "true"}))
    assert [(a["kind"], a["item"]) for a in open_alerts] == [("out_of_stock", "Echo Plus")]

    status, thresholds, _ = call(
        gateway_event(
            "PUT",
            "/api/thresholds",
            body=json.dumps([{"store": "Berlin", "item": "*", "minimum": 5}]).encode(),
            headers={"content-type": "application/json"},
        )
    )
    assert status == 200 and [(t["store"], t["item"], t["minimum"]) for t in thresholds] == [
        ("Berlin", "*", 5)
    ]
    _, low, _ = call(gateway_event("GET", "/api/stock", {"status": "low_stock"}))
    assert [r["item"] for r in low["rows"]] == ["Echo Dot"]

    _, uploads, _ = call(gateway_event("GET", "/api/uploads"))
    assert [u["status"] for u in uploads["uploads"]] == ["loaded", "loaded"]
    newest = uploads["uploads"][0]
    status, one, _ = call(gateway_event("GET", f"/api/uploads/{newest['id']}"))
    assert status == 200 and one["rows_loaded"] == 1
    _, older, _ = call(gateway_event("GET", "/api/uploads", {"before": newest["id"]}))
    assert [u["id"] for u in older["uploads"]] == [uploads["uploads"][1]["id"]]
    assert call(gateway_event("GET", "/api/uploads/..%2Fetc"))[0] in (404, 422)
    assert call(gateway_event("GET", "/api/healthz"))[0] == 404
    assert call(gateway_event("GET", "/healthz", token=None))[0] == 200


def test_upload_through_api_gateway_is_loaded_by_the_s3_trigger(stack: Aws) -> None:
    status, queued, headers = call(
        gateway_event(
            "POST",
            "/api/uploads",
            {"filename": "../../munich.csv"},
            body=csv_bytes(("Munich", "Kindle", 0), ("Munich", "Fire TV", "x")),
            headers={"content-type": "text/csv"},
        )
    )
    assert status == 202 and queued["status"] == "queued"
    key = queued["id"]
    assert "/" not in key and key.endswith("munich.csv")
    assert headers["location"] == f"/api/uploads/{key}"
    assert call(gateway_event("GET", f"/api/uploads/{key}"))[1]["status"] == "queued"

    report = run_pipeline(stack)
    assert (report["file"], report["rows_loaded"], report["rows_rejected"]) == (key, 1, 1)
    status, done, _ = call(gateway_event("GET", f"/api/uploads/{key}"))
    assert status == 200 and done["id"] == key and done["status"] == "loaded_with_errors"
    assert done["errors"][0]["line"] == 3 and done["errors"][0]["field"] == "count"

    # The dashboard's form sends multipart/form-data.
    boundary = "stockwatchboundary"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="hamburg.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        + csv_bytes(("Hamburg", "Kindle", 4))
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, queued, _ = call(
        gateway_event(
            "POST",
            "/api/uploads",
            body=form,
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    )
    assert status == 202
    assert run_pipeline(stack)["rows_loaded"] == 1
    _, stores, _ = call(gateway_event("GET", "/api/stores"))
    assert sorted(s["store"] for s in stores) == ["Hamburg", "Munich"]


def test_strict_upload_through_api_gateway_loads_nothing_of_a_bad_file(stack: Aws) -> None:
    status, queued, _ = call(
        gateway_event(
            "POST",
            "/api/uploads",
            {"filename": "strict.csv", "strict": "true"},
            body=csv_bytes(("Köln", "Kindle", 2), ("Köln", "Echo", "one")),
            headers={"content-type": "text/csv"},
        )
    )
    assert status == 202
    report = run_pipeline(stack)
    assert report["status"] == "rejected" and report["rows_loaded"] == 0
    assert "strict mode" in report["message"]
    assert stack.dynamodb.scan(TableName=stack.table)["Items"] == []
    _, done, _ = call(gateway_event("GET", f"/api/uploads/{queued['id']}"))
    assert done["status"] == "rejected" and done["rows_rejected"] == 1


def test_oversize_upload_through_api_gateway_is_refused(
    stack: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKWATCH_MAX_FILE_BYTES", "100")
    status, body, _ = call(
        gateway_event(
            "POST",
            "/api/uploads",
            {"filename": "big.csv"},
            body=b"store,item,count\n" + b"Berlin,Echo,1\n" * 20,
            headers={"content-type": "text/csv"},
        )
    )
    assert status == 413 and "100 bytes" in body["message"]
    assert stack.s3.list_objects_v2(Bucket=stack.bucket).get("KeyCount", 0) == 0


def test_without_a_readable_token_the_api_answers_503_with_a_message(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The secret gone (or unreadable): JSON 503 and a log line saying what to fix, never
    a traceback; once the secret is back, the next try after the pause serves again."""
    import stockwatch.handlers.web as handlers

    monkeypatch.setattr(handlers, "_api", None)
    monkeypatch.setattr(handlers, "_unavailable", None)
    monkeypatch.setenv(
        "STOCKWATCH_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone"
    )
    status, body, headers = call(gateway_event("GET", "/api/stores"))
    assert status == 503 and "API token cannot be read" in body["message"]
    assert headers["retry-after"] == "30"
    assert "Traceback" not in str(body)
    (record,) = [r for r in caplog.records if "cannot start" in r.getMessage()]
    problem = record.__dict__
    assert "ResourceNotFoundException" in problem["fix"] and "secret" in problem["fix"]

    monkeypatch.delenv("STOCKWATCH_TOKEN_SECRET_ARN")
    monkeypatch.setenv("STOCKWATCH_TOKEN", "short")
    status, _, _ = call(gateway_event("GET", "/api/stores"))  # still within the pause
    assert status == 503
    monkeypatch.setattr(handlers, "_unavailable", None)  # the pause over
    status, body, _ = call(gateway_event("GET", "/api/stores"))
    assert status == 503  # too short a token is refused too
    monkeypatch.setenv("STOCKWATCH_TOKEN", TOKEN)
    monkeypatch.setattr(handlers, "_unavailable", None)
    status, body, _ = call(gateway_event("GET", "/api/stores", token=TOKEN))
    assert status == 200


def test_the_managers_endpoints_through_api_gateway(stack: Aws) -> None:
    """Thresholds that act at once, alerts to work from, where-is-it and a held snapshot,
    through the same app behind API Gateway on the AWS backend."""

    def post_csv(name: str, *rows: tuple[str, str, int], **query: str) -> dict[str, Any]:
        status, _, _ = call(
            gateway_event(
                "POST",
                "/api/uploads",
                {"filename": name, **query},
                body=csv_bytes(*rows),
                headers={"content-type": "text/csv"},
            )
        )
        assert status == 202
        return run_pipeline(stack)

    full = [("Lima", "A", 1), ("Lima", "B", 4), ("Lima", "C", 9), ("Quito", "A", 0)]
    post_csv("full.csv", *full)
    status, change, _ = call(
        gateway_event(
            "POST",
            "/api/thresholds",
            body=json.dumps([{"store": "Lima", "item": "*", "minimum": 5}]).encode(),
            headers={"content-type": "application/json"},
        )
    )
    assert status == 200 and sorted(a["item"] for a in change["raised"]) == ["A", "B"]
    _, found, _ = call(gateway_event("GET", "/api/item", {"name": "A"}))
    assert [(r["store"], r["status"]) for r in found] == [
        ("Lima", "low_stock"),
        ("Quito", "out_of_stock"),
    ]

    _, quito, _ = call(gateway_event("GET", "/api/alerts", {"store": "Quito", "state": "open"}))
    (alert,) = quito
    status, _, _ = call(
        gateway_event(
            "POST",
            f"/api/alerts/{alert['id']}/ack",
            body=json.dumps({"by": "ana", "note": "ordered"}).encode(),
            headers={"content-type": "application/json"},
        )
    )
    assert status == 200
    _, quito, _ = call(gateway_event("GET", "/api/alerts", {"store": "Quito"}))
    assert quito[0]["acknowledged_by"] == "ana"

    held = post_csv("short.csv", ("Lima", "A", 1), snapshot="true")
    assert held["status"] == "needs_confirmation"
    upload_id = held["upload_id"].replace("#", "~")
    status, body, _ = call(gateway_event("POST", f"/api/uploads/{upload_id}/confirm"))
    assert status == 202 and body["status"] == "processing"  # handed on to LoadInventory
    status, body, _ = call(
        gateway_event(
            "POST",
            "/api/uploads/2026-01-01T00:00:00.000Z~0000000000000000000000000000000000000000/confirm",
        )
    )
    assert status == 404


def test_what_to_order_through_api_gateway(stack: Aws) -> None:
    """The order list, its settings and an order, on the AWS backend behind API Gateway."""
    for day, count in enumerate((40, 35, 30, 25, 20), start=1):
        status, _, _ = call(
            gateway_event(
                "POST",
                "/api/uploads",
                {"filename": f"b{day}.csv", "as_of": f"2026-11-0{day}T08:00:00Z"},
                body=csv_bytes(("Lima", "Echo Dot", count)),
                headers={"content-type": "text/csv"},
            )
        )
        assert status == 202
        assert run_pipeline(stack)["status"] == "loaded"
    status, _, _ = call(
        gateway_event(
            "PUT",
            "/api/ordering",
            body=json.dumps({"store": "Lima", "item": "*", "pack": 6}).encode(),
            headers={"content-type": "application/json"},
        )
    )
    assert status == 200
    status, lines, _ = call(gateway_event("GET", "/api/reorder", {"store": "Lima"}))
    assert status == 200
    assert [(x["item"], x["order_up_to"], x["suggested"]) for x in lines] == [("Echo Dot", 70, 54)]
    status, placed, _ = call(
        gateway_event(
            "POST",
            "/api/orders",
            body=json.dumps([{"store": "Lima", "item": "Echo Dot", "quantity": 54}]).encode(),
            headers={"content-type": "application/json"},
        )
    )
    assert status == 201
    status, lines, _ = call(gateway_event("GET", "/api/reorder", {"store": "Lima"}))
    assert lines == []
    status, orders, _ = call(gateway_event("GET", "/api/orders"))
    assert [o["id"] for o in orders] == [placed[0]["id"]]
