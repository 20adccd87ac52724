"""Property-based API test: whatever schemathesis sends that fits /openapi.json, no 500s."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import csv_bytes
from tests.live_server import LiveServer, live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(Path(tmp_path_factory.mktemp("schemathesis")) / "data") as live:
        db = live.ctx.db()
        db.process_upload(
            db.receive(
                "seed.csv",
                io.BytesIO(csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", 4))),
            )
        )
        yield live


def test_no_server_errors(server: LiveServer) -> None:
    # Hypothesis drives schemathesis's strategies directly (not its pytest plugin), one
    # operation at a time; /api/events is an endless stream, tested in test_api.py.
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.exclude(path="/api/events").get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:

        @settings(
            max_examples=50,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=operation.as_strategy())
        def no_500(case: schemathesis.Case) -> None:
            response = case.call(timeout=30)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)

        no_500()
