"""One API contract: every error JSON with a message, strict numbers, a true Allow, names
with "/" reachable, and an OpenAPI document that says all of it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stockwatch.service.commands import Upload
from tests.conftest import csv_bytes
from tests.live_server import LiveServer, live_server


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(Path(tmp_path_factory.mktemp("contract")) / "data") as live:
        db = live.backend
        data = csv_bytes(("Berlin", "Echo/Dot", 0), ("Berlin/Mitte", "Echo Show", 4))
        db.process_upload(db.receive(Upload("seed.csv"), io.BytesIO(data)))
        yield live


def test_router_errors_are_json_with_a_message(seeded: LiveServer) -> None:
    missing = httpx.get(seeded.url + "/api/nothing")
    assert missing.status_code == 404 and "nothing at /api/nothing" in missing.json()["message"]
    wrong = httpx.patch(seeded.url + "/api/thresholds")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "DELETE, GET, POST, PUT"
    assert "use DELETE, GET, POST, PUT" in wrong.json()["message"]
    garbled = httpx.put(
        seeded.url + "/api/thresholds",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert garbled.status_code in (400, 422) and garbled.json()["message"]
    assert "detail" not in garbled.json()


@pytest.mark.parametrize("minimum", [False, True, "7", 7.5, None])
def test_numbers_are_strict(seeded: LiveServer, minimum: object) -> None:
    response = httpx.put(
        seeded.url + "/api/thresholds", json=[{"store": "Berlin", "item": "*", "minimum": minimum}]
    )
    assert response.status_code == 422, response.text
    assert "minimum" in response.json()["message"]


def test_blank_names_are_refused_by_the_schema_and_the_rules(seeded: LiveServer) -> None:
    response = httpx.put(
        seeded.url + "/api/thresholds", json=[{"store": "\u3000", "item": "*", "minimum": 1}]
    )
    assert response.status_code == 422


def test_names_with_a_slash_have_a_history(seeded: LiveServer) -> None:
    for store, item in (("Berlin", "Echo/Dot"), ("Berlin/Mitte", "Echo Show")):
        response = httpx.get(seeded.url + "/api/history", params={"store": store, "item": item})
        assert response.status_code == 200, response.text
        assert [p["count"] for p in response.json()] == [0 if item == "Echo/Dot" else 4]


def test_the_openapi_document_says_what_the_server_does(seeded: LiveServer) -> None:
    schema = httpx.get(seeded.url + "/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    }
    upload = schema["paths"]["/api/uploads"]["post"]
    assert set(upload["requestBody"]["content"]) == {"text/csv", "multipart/form-data"}
    assert {"202", "401", "403", "408", "413", "415", "421", "422"} <= set(upload["responses"])
    assert "413" in schema["paths"]["/api/thresholds"]["put"]["responses"]
    error = schema["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["message"]
