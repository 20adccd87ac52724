"""Property-based API test: schemathesis with all its checks against a real ``serve``.

Every response must conform to /openapi.json (status codes, content types, bodies,
headers such as ``Allow``), invalid data must be refused, valid data accepted, and nothing
may answer 5xx. Bounded: a few dozen examples per operation, valid and invalid.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.generation import GenerationMode

from stockwatch.service.commands import Upload
from tests.conftest import csv_bytes
from tests.live_server import LiveServer, live_server

TOKEN = "schemathesis-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Signed in as the bootstrap admin throughout: the users it makes (POST /api/users)
    # would otherwise turn sign-in on half-way and leave the rest of the run at 401.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STOCKWATCH_TOKEN", TOKEN)
        with live_server(Path(tmp_path_factory.mktemp("schemathesis")) / "data") as live:
            db = live.backend
            db.process_upload(
                db.receive(
                    Upload("seed.csv"),
                    io.BytesIO(csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", 4))),
                )
            )
            yield live


CASES: list[str] = []


def test_all_checks_pass(fuzzed: LiveServer) -> None:
    # Hypothesis drives schemathesis's strategies directly (not its pytest plugin), one
    # operation at a time; /api/events is an endless stream, tested in test_api.py.
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json", headers=AUTH)
    found = schema.exclude(path="/api/events").get_all_operations()
    operations = [result.ok() for result in found]  # type: ignore[union-attr]
    assert len(operations) >= 9
    for operation, mode in [(o, m) for o in operations for m in GenerationMode]:

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def conforms(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            CASES.append(f"{case.method} {case.formatted_path}")
            excluded = []
            if case.path == "/api/stock":
                # The cursor is opaque (the API hands it out); a made-up one is refused with
                # 422, which no schema can tell apart from a real one in advance.
                excluded = [positive_data_acceptance]
            if case.path == "/api/thresholds.csv":
                # The body is a CSV file: whether its rows are thresholds is for the file's
                # own checks (422 naming the line), not something a schema can state.
                excluded = [positive_data_acceptance, negative_data_rejection]
            if case.path == "/api/audit":
                # since must be a real date, which a pattern cannot say (2026-02-31: 422).
                excluded = [positive_data_acceptance]
            if case.path == "/api/mutes" and case.method == "PUT":
                # A mute must end in the future and on a real date: no pattern says so.
                excluded = [positive_data_acceptance]
            if case.path == "/api/layouts/{name}" and case.method == "PUT":
                # The mapping has its own grammar (roles, item= and count= required, a
                # store= or a store), checked by its parser with a 422 naming what is wrong.
                excluded = [positive_data_acceptance]
            if case.path == "/api/uploads" and case.method == "POST":
                # The body is a file: any bytes are one (its report says whether they are
                # inventory), so a "body of the wrong JSON type" is still a file to take.
                # And as_of must be a real date not in the future, which a pattern cannot
                # say: a schema-valid 2026-02-31 or 2999-01-01 is refused with 422.
                excluded = [negative_data_rejection, positive_data_acceptance]
            case.call_and_validate(timeout=30, excluded_checks=excluded, headers=AUTH)

        try:
            conforms()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing about it can be made invalid
    print(f"schemathesis: {len(CASES)} cases, all checks passed")
